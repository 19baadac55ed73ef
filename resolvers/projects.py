"""Reads of projects and their issues."""

from __future__ import annotations

from clients.projects import IssuePage, IssuesKey, ProjectNode, ProjectPage, ProjectsKey
from resolvers.errors import check_page_size
from resolvers.loaders import Loaders


async def project(loaders: Loaders, project_id: str) -> ProjectNode | None:
    return await loaders.projects.load(project_id)


async def projects_of_org(loaders: Loaders, org_id: str, first: int, after: str | None) -> ProjectPage:
    check_page_size(first)
    return await loaders.projects_by_org.load(ProjectsKey(org_id, first, after))


async def issues(
    loaders: Loaders, project_id: str, first: int, after: str | None, state: str | None
) -> IssuePage | None:
    check_page_size(first)
    return await loaders.issues.load(IssuesKey(project_id, first, after, state))
