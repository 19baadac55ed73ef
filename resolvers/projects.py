"""Reads of projects and their issues."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence

from clients.projects import (
    ISSUES,
    PROJECT_PAGES,
    PROJECTS,
    IssuePage,
    IssuesArgs,
    IssuesKey,
    ProjectNode,
    ProjectPage,
    ProjectsKey,
)
from resolvers.errors import check_page_size
from resolvers.loaders import Loaders


async def project(loaders: Loaders, project_id: str) -> ProjectNode | None:
    return await loaders[PROJECTS].load(project_id)


def projects_of_org(
    loaders: Loaders, org_id: str, first: int, after: str | None, issues: Sequence[IssuesArgs] = ()
) -> asyncio.Future[ProjectPage | None]:
    """A page of the organization's projects; ``issues`` are the issue pages the query will ask
    of each of its projects, fetched in the same upstream request when the page is."""
    check_page_size(first)
    return loaders[PROJECT_PAGES].load(ProjectsKey(org_id, first, after, tuple(issues)))


def issues_args(first: int, after: str | None, state: str | None) -> IssuesArgs:
    """The arguments of an issue page pushed down into its project's read."""
    return IssuesArgs(check_page_size(first), after, state)


def issues_future(
    loaders: Loaders, project_id: str, first: int, after: str | None, state: str | None
) -> asyncio.Future[IssuePage | None]:
    """The loader's future for an issues page: already done when a projects request brought it."""
    check_page_size(first)
    return loaders[ISSUES].load(IssuesKey(project_id, first, after, state))


def issues_ahead(
    loaders: Loaders, project_ids: Iterable[str], first: int, after: str | None, state: str | None
) -> list[asyncio.Future[IssuePage | None]]:
    """The projects' issue pages as ``issues_future`` asks for them (done when the projects request
    brought them)."""
    check_page_size(first)
    loader = loaders[ISSUES]
    return [loader.load(IssuesKey(project_id, first, after, state)) for project_id in project_ids]
