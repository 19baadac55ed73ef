"""Loaders over the projects GraphQL upstream: each batch is one merged request."""

from __future__ import annotations

from collections.abc import Sequence

from aiodataloader import DataLoader
from pydantic import TypeAdapter

from clients.errors import UpstreamError
from clients.projects import IssuePage, IssuesKey, ProjectNode, ProjectPage, ProjectsClient, ProjectsKey
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


class ProjectsByOrgLoader(DataLoader[ProjectsKey, ProjectPage]):
    """A page of an organization's projects; its projects prime ``ProjectByIdLoader`` (and, when
    fetched upstream, refresh their cache entries)."""

    def __init__(self, client: ProjectsClient, projects: ProjectByIdLoader, cache: RequestCache | None = None) -> None:
        super().__init__(max_batch_size=client.graphql.policy.max_batch_size)
        self.client = client
        self.projects = projects
        self.shared_cache = cache

    async def batch_load_fn(self, keys: Sequence[ProjectsKey]) -> list[ProjectPage | UpstreamError]:  # type: ignore[override]  # the stub omits per-key exceptions
        pages = await cached(self.shared_cache, PROJECT_PAGES, keys, self._fetch)
        for page in pages:
            if isinstance(page, ProjectPage):
                for project in page.nodes:
                    self.projects.prime(project.id, project)
        return pages

    async def _fetch(self, keys: Sequence[ProjectsKey]) -> list[ProjectPage | UpstreamError]:
        try:
            pages = await self.client.projects_pages(keys)
        except UpstreamError as exc:
            return [exc for _ in keys]
        if self.shared_cache is not None:
            nodes = [(node.id, node) for page in pages if isinstance(page, ProjectPage) for node in page.nodes]
            await self.shared_cache.put(PROJECTS, nodes)
        return pages


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
