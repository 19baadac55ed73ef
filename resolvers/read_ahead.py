"""Loads started before the fields that need them run, when all they need is already known.

An ``organization(id:)`` selection's members, billing customer and projects need only the id the
query passed, not the organization's record: started with that record's read, they cost no
round trip of their own. For an id that turns out not to exist they are wasted reads, answered
by nobody.
"""

from __future__ import annotations

from asyncio import Future
from dataclasses import dataclass
from typing import Any

from clients.billing import CUSTOMERS
from clients.identity import MEMBERS, MembersKey
from clients.projects import PROJECT_PAGES, IssuesArgs, ProjectsKey
from resolvers.errors import InvalidArgument, check_page_size
from resolvers.loaders import Loaders


@dataclass(frozen=True, slots=True)
class PageRead:
    first: int
    after: str | None = None
    issues: tuple[IssuesArgs, ...] = ()
    """For a projects page: the issue pages the query asks of each of its projects."""


@dataclass(frozen=True, slots=True)
class OrganizationReads:
    """What an ``organization`` selection will read with nothing but the organization's id."""

    members: tuple[PageRead, ...] = ()
    billing: bool = False
    projects: tuple[PageRead, ...] = ()


def start_organization_reads(loaders: Loaders, org_id: str, reads: OrganizationReads) -> None:
    """Put the reads in their loaders' next batches; the fields that ask for them later get the
    same futures. Page sizes the fields would refuse are left for them to report."""
    started: list[Future[Any]] = [
        loaders[MEMBERS].load(MembersKey(org_id, read.first, read.after)) for read in reads.members if _valid(read)
    ]
    if reads.billing:
        started.append(loaders[CUSTOMERS].load(org_id))
    started.extend(
        loaders[PROJECT_PAGES].load(ProjectsKey(org_id, read.first, read.after, read.issues))
        for read in reads.projects
        if _valid(read)
    )
    for future in started:
        future.add_done_callback(_retrieve)


def _valid(read: PageRead) -> bool:
    try:
        check_page_size(read.first)
    except InvalidArgument:
        return False
    return True


def _retrieve(future: Future[Any]) -> None:
    """A read nobody asks for after all (the organization was not found) is not a lost error."""
    if not future.cancelled():
        future.exception()
