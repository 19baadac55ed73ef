"""Loaders over the projects GraphQL upstream: each batch is one merged request."""

from __future__ import annotations

import asyncio
from asyncio import Future
from collections.abc import Mapping, Sequence
from functools import partial

from aiodataloader import DataLoader
from pydantic import TypeAdapter

from clients.errors import UpstreamError
from clients.projects import (
    IssuePage,
    IssuesArgs,
    IssuesKey,
    ProjectNode,
    ProjectPage,
    ProjectsClient,
    ProjectsKey,
    ProjectsWithIssues,
)
from resolvers.cache import CacheType, RequestCache
from resolvers.cache.types import key_part
from resolvers.loaders.batching import cached, load_by_keys

PROJECTS: CacheType[str, ProjectNode] = CacheType(
    name="projects",
    upstream="projects",
    adapter=TypeAdapter(ProjectNode),
    key_id=key_part,
    entity="Project",
    tags=lambda _key, project: (f"org:{project.org_id}", f"project:{project.id}"),
    links=lambda _key, project: ((f"org:{project.org_id}", f"project:{project.id}"),),
)
PROJECT_PAGES: CacheType[ProjectsKey, ProjectPage] = CacheType(
    name="project_pages",
    upstream="projects",
    adapter=TypeAdapter(ProjectPage),
    key_id=lambda key: f"{key_part(key.org_id)}:{key.first}:{key_part(key.after)}",
    tags=lambda key, page: (f"org:{key.org_id}", *(f"Project:{project.id}" for project in page.nodes)),
    links=lambda key, page: tuple((f"org:{key.org_id}", f"project:{project.id}") for project in page.nodes),
)
ISSUES: CacheType[IssuesKey, IssuePage] = CacheType(
    name="issues",
    upstream="projects",
    adapter=TypeAdapter(IssuePage),
    key_id=lambda key: f"{key_part(key.project_id)}:{key.first}:{key_part(key.after)}:{key_part(key.state)}",
    tags=lambda key, _page: (f"project:{key.project_id}",),
)


class ProjectByIdLoader(DataLoader[str, ProjectNode | None]):
    def __init__(self, client: ProjectsClient, cache: RequestCache | None = None) -> None:
        super().__init__(max_batch_size=client.graphql.policy.max_batch_size)
        self.client = client
        self.shared_cache = cache

    async def batch_load_fn(self, keys: Sequence[str]) -> list[ProjectNode | UpstreamError | None]:  # type: ignore[override]  # the stub omits per-key exceptions
        return await cached(self.shared_cache, PROJECTS, keys, self._fetch)

    async def _fetch(self, keys: Sequence[str]) -> list[ProjectNode | UpstreamError | None]:
        return await load_by_keys(keys, self.client.projects_by_ids)


class IssuesByProjectLoader(DataLoader[IssuesKey, IssuePage | None]):
    def __init__(self, client: ProjectsClient, cache: RequestCache | None = None) -> None:
        super().__init__(max_batch_size=client.graphql.policy.max_batch_size)
        self.client = client
        self.shared_cache = cache

    async def batch_load_fn(self, keys: Sequence[IssuesKey]) -> list[IssuePage | UpstreamError | None]:  # type: ignore[override]  # the stub omits per-key exceptions
        return await cached(self.shared_cache, ISSUES, keys, self._fetch)

    async def _fetch(self, keys: Sequence[IssuesKey]) -> list[IssuePage | UpstreamError | None]:
        try:
            return await self.client.issue_pages(keys)
        except UpstreamError as exc:
            return [exc for _ in keys]

    def prime_pages(self, pages: Mapping[IssuesKey, IssuePage | UpstreamError]) -> None:
        """Pages fetched inside a projects request, answered as if this loader had fetched them.

        A failed page is primed as its error (the field that asks for it reports it) and marked
        retrieved, so one that no field asks for is not logged as a lost exception."""
        for key, page in pages.items():
            self.prime(key, page)  # type: ignore[arg-type]  # an exception primes a failed future
            if isinstance(page, UpstreamError):
                self.load(key).exception()


class ProjectsByOrgLoader(DataLoader[ProjectsKey, ProjectPage]):
    """A page of an organization's projects; its projects prime ``ProjectByIdLoader`` (and, when
    fetched upstream, refresh their cache entries).

    ``load_with_issues`` also names the issue pages the caller will ask of each project: a page
    fetched upstream then brings them in the same request and primes ``IssuesByProjectLoader``
    (and the cache) with them; for a page served from the cache that loader fetches them.
    """

    def __init__(
        self,
        client: ProjectsClient,
        projects: ProjectByIdLoader,
        issues: IssuesByProjectLoader,
        cache: RequestCache | None = None,
    ) -> None:
        super().__init__(max_batch_size=client.graphql.policy.max_batch_size)
        self.client = client
        self.projects = projects
        self.issues = issues
        self.shared_cache = cache
        self._wanted: dict[ProjectsKey, tuple[IssuesArgs, ...]] = {}

    def load_with_issues(self, key: ProjectsKey, issues: Sequence[IssuesArgs]) -> Future[ProjectPage]:
        """``load(key)``, asking for these issue pages too if the key is not fetched yet."""
        if issues:
            wanted = self._wanted.get(key, ())
            self._wanted[key] = wanted + tuple(args for args in issues if args not in wanted)
        return self.load(key)

    async def batch_load_fn(self, keys: Sequence[ProjectsKey]) -> list[ProjectPage | UpstreamError]:  # type: ignore[override]  # the stub omits per-key exceptions
        wanted = {key: self._wanted.pop(key, ()) for key in keys}
        pages = await cached(self.shared_cache, PROJECT_PAGES, keys, partial(self._fetch, wanted))
        for page in pages:
            if isinstance(page, ProjectPage):
                for project in page.nodes:
                    self.projects.prime(project.id, project)
        await self._issues_ready(keys, pages, wanted)
        return pages

    async def _issues_ready(
        self,
        keys: Sequence[ProjectsKey],
        pages: Sequence[ProjectPage | UpstreamError],
        wanted: Mapping[ProjectsKey, tuple[IssuesArgs, ...]],
    ) -> None:
        """The wanted issue pages are in the issues loader before a page is handed out.

        Those of a page fetched here were primed by the fetch; those of a page from the cache (or
        from another request's fetch of the same page) are loaded now, in one batch (cache, then
        upstream). Either way each project's issues then resolve at once, so the owners and the
        assignees of a page are asked for in one identity batch. Errors stay in their futures,
        for the ``issues`` fields to report."""
        pending = [
            future
            for key, page in zip(keys, pages, strict=True)
            if isinstance(page, ProjectPage)
            for args in wanted[key]
            for project in page.nodes
            if not (future := self.issues.load(args.key(project.id))).done()
        ]
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)

    async def _fetch(
        self, wanted: Mapping[ProjectsKey, tuple[IssuesArgs, ...]], keys: Sequence[ProjectsKey]
    ) -> list[ProjectPage | UpstreamError]:
        try:
            answers = await self.client.projects_with_issues(keys, [wanted[key] for key in keys])
        except UpstreamError as exc:
            return [exc for _ in keys]
        pages: list[ProjectPage | UpstreamError] = []
        for answer in answers:
            if isinstance(answer, ProjectsWithIssues):
                pages.append(answer.page)
                self.issues.prime_pages(answer.issues)
            else:
                pages.append(answer)
        if self.shared_cache is not None:
            nodes = [(node.id, node) for page in pages if isinstance(page, ProjectPage) for node in page.nodes]
            await self.shared_cache.put(PROJECTS, nodes)
            issue_pages = [
                (key, page)
                for answer in answers
                if isinstance(answer, ProjectsWithIssues)
                for key, page in answer.issues.items()
                if isinstance(page, IssuePage)
            ]
            if issue_pages:
                await self.shared_cache.put(ISSUES, issue_pages)
        return pages
