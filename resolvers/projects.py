"""Reads of projects and their issues."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from typing import Any

from clients.identity import MEMBERS, USERS
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


async def projects_page(
    loaders: Loaders, org_id: str, first: int, after: str | None, issues: Sequence[IssuesArgs] = ()
) -> ProjectPage | None:
    """``projects_of_org``'s page, handed out once the users of this request read ahead so far (the
    owners and assignees its answer names, ``schema.early_reads.start_reads_from``) are answered too.

    The response waits for those users in any case; completed after them, the page's owner and
    assignee fields are answered at once from the loader and the response's memo, where completed
    before, each one not in a members page waited for the users' batch on its own (a coroutine and
    a wake-up per field)."""
    page = await projects_of_org(loaders, org_id, first, after, issues)
    await _users_answered(loaders)
    return page


async def _users_answered(loaders: Loaders) -> None:
    """Until none of the request's users or members pages is waiting for its answer (a failed one
    is its fields' to report). Users read ahead behind a members page are loaded once the page is
    answered (``Loaders.load_ahead``), so the loaders are looked at again after each wait. One
    future is waited for at a time: the keys of a batch are answered together, so the next look
    finds the rest of its batch answered (``gather`` put a callback on each of a hundred users)."""
    members, users = loaders[MEMBERS], loaders[USERS]
    while True:
        waiting: list[asyncio.Future[Any]] = members.unsettled() or users.unsettled()
        if not waiting:
            return
        await asyncio.wait((waiting[0],))


def issues_args(first: int, after: str | None, state: str | None) -> IssuesArgs:
    """The arguments of an issue page pushed down into its project's read."""
    return IssuesArgs(check_page_size(first), after, state)


def issues_future(
    loaders: Loaders, project_id: str, first: int, after: str | None, state: str | None
) -> asyncio.Future[IssuePage | None]:
    """The loader's future for an issues page: already done when a projects request brought it."""
    check_page_size(first)
    return loaders[ISSUES].load(IssuesKey(project_id, first, after, state))


def issues_answered(loaders: Loaders, project_id: str, first: int, after: str | None, state: str | None) -> Any:
    """The issues page as ``issues_future`` asks for it where the loader has it at hand (a projects
    request brought it), without a future where none was made; else ``UNANSWERED``."""
    check_page_size(first)
    return loaders[ISSUES].answered(IssuesKey(project_id, first, after, state))


def issues_ahead(
    loaders: Loaders, project_ids: Iterable[str], first: int, after: str | None, state: str | None
) -> list[asyncio.Future[IssuePage | None]]:
    """The projects' issue pages as ``issues_future`` asks for them (done when the projects request
    brought them)."""
    check_page_size(first)
    loader = loaders[ISSUES]
    return [loader.load(IssuesKey(project_id, first, after, state)) for project_id in project_ids]
