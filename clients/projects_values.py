"""The projects upstream's values: frozen msgspec Structs, as decoded from its answers and cached,
and the keys its reads are loaded by.

The Structs that hold only scalars (nodes, page infos, keys) are ``gc=False``: no reference cycle
can run through them, so the cyclic collector neither tracks nor traverses the hundreds of them an
answer brings (and each is 16 bytes smaller).

The keys (``IssuesKey``, ``ProjectsKey``, as ``MembersKey`` and ``InvoicesKey`` of the other
upstreams) are ``cache_hash=True``: a key is hashed once, not at each of the dict probes a load
makes of it (the loader's values and futures, the cache's known keys, the batch's answers).
"""

from __future__ import annotations

from dataclasses import dataclass

import msgspec

from clients.errors import UpstreamError


class PageInfo(msgspec.Struct, frozen=True, rename="camel", gc=False):
    has_next_page: bool
    end_cursor: str | None = None


class ProjectNode(msgspec.Struct, frozen=True, rename="camel", gc=False):
    id: str
    name: str
    org_id: str
    owner_id: str
    state: str


class IssueNode(msgspec.Struct, frozen=True, rename="camel", gc=False):
    id: str
    title: str
    state: str
    project_id: str
    assignee_id: str | None = None


class ProjectPage(msgspec.Struct, frozen=True, rename="camel"):
    total_count: int
    page_info: PageInfo
    nodes: list[ProjectNode]


class IssuePage(msgspec.Struct, frozen=True, rename="camel"):
    total_count: int
    page_info: PageInfo
    nodes: list[IssueNode]


class IssuesKey(msgspec.Struct, frozen=True, gc=False, cache_hash=True):
    project_id: str
    first: int
    after: str | None = None
    state: str | None = None


class IssuesArgs(msgspec.Struct, frozen=True, gc=False):
    """The arguments of one ``issues`` page, for every project of a projects page."""

    first: int
    after: str | None = None
    state: str | None = None

    def key(self, project_id: str) -> IssuesKey:
        return IssuesKey(project_id, self.first, self.after, self.state)


class ProjectsKey(msgspec.Struct, frozen=True, gc=False, cache_hash=True):
    """A page of an organization's projects, and the issue pages the client's selection asks of
    each of its projects (pushed down into the same upstream request)."""

    org_id: str
    first: int
    after: str | None = None
    issues: tuple[IssuesArgs, ...] = ()


@dataclass(frozen=True, slots=True)
class ProjectsWithIssues:
    """A projects page and the issue pages fetched inside it (each a page or its own error);
    ``issues`` is empty when none were asked for or they had to be left out."""

    page: ProjectPage
    issues: dict[IssuesKey, IssuePage | UpstreamError]
