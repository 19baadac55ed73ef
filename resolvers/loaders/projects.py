"""Loaders over the projects GraphQL upstream: each batch is one merged request."""

from __future__ import annotations

from collections.abc import Sequence

from aiodataloader import DataLoader

from clients.errors import UpstreamError
from clients.projects import IssuePage, IssuesKey, ProjectNode, ProjectPage, ProjectsClient, ProjectsKey
from resolvers.loaders.batching import load_by_keys


class ProjectByIdLoader(DataLoader[str, ProjectNode | None]):
    def __init__(self, client: ProjectsClient) -> None:
        super().__init__(max_batch_size=client.graphql.policy.max_batch_size)
        self.client = client

    async def batch_load_fn(self, keys: Sequence[str]) -> list[ProjectNode | UpstreamError | None]:  # type: ignore[override]  # the stub omits per-key exceptions
        return await load_by_keys(keys, self.client.projects_by_ids)


class ProjectsByOrgLoader(DataLoader[ProjectsKey, ProjectPage]):
    """A page of an organization's projects; its projects prime ``ProjectByIdLoader``."""

    def __init__(self, client: ProjectsClient, projects: ProjectByIdLoader) -> None:
        super().__init__(max_batch_size=client.graphql.policy.max_batch_size)
        self.client = client
        self.projects = projects

    async def batch_load_fn(self, keys: Sequence[ProjectsKey]) -> list[ProjectPage | UpstreamError]:  # type: ignore[override]  # the stub omits per-key exceptions
        try:
            pages = await self.client.projects_pages(keys)
        except UpstreamError as exc:
            return [exc for _ in keys]
        for page in pages:
            if isinstance(page, ProjectPage):
                for project in page.nodes:
                    self.projects.prime(project.id, project)
        return pages


class IssuesByProjectLoader(DataLoader[IssuesKey, IssuePage | None]):
    def __init__(self, client: ProjectsClient) -> None:
        super().__init__(max_batch_size=client.graphql.policy.max_batch_size)
        self.client = client

    async def batch_load_fn(self, keys: Sequence[IssuesKey]) -> list[IssuePage | UpstreamError | None]:  # type: ignore[override]  # the stub omits per-key exceptions
        try:
            return await self.client.issue_pages(keys)
        except UpstreamError as exc:
            return [exc for _ in keys]
