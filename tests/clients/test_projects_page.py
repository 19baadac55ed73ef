"""resolvers.projects.projects_page: an organization's projects page is handed out once the users
read ahead in the same request are answered (its owner and assignee fields then answer at once),
whether they come straight or behind a members page, and whether they are found or fail; the users
read ahead are each loaded once."""

from __future__ import annotations

import asyncio
from typing import Any

from clients.errors import UpstreamUnavailable
from clients.identity import IDENTITY, MEMBERS, USERS, MembersKey
from clients.projects import ProjectPage
from clients.upstreams import Upstreams
from resolvers.identity import users_ahead
from resolvers.loaders import Loaders
from resolvers.projects import projects_page


async def test_the_page_comes_once_the_users_read_ahead_are_answered(sandbox: Any, upstreams: Upstreams) -> None:
    await sandbox.faults("identity", latency_ms=300, routes=["GET /v1/users"])  # slower than the projects
    loaders = Loaders.build(upstreams)
    loaders.load_ahead(USERS, ["user-3", "user-7"])

    page = await projects_page(loaders, "org-1", 5, None)

    assert isinstance(page, ProjectPage)
    assert len(page.nodes) == 5
    assert loaders[USERS].unsettled() == []
    assert [user.id for user in await loaders[USERS].load_many(["user-3", "user-7"]) if user] == ["user-3", "user-7"]


async def test_users_read_ahead_behind_a_members_page_are_waited_for_too(sandbox: Any, upstreams: Upstreams) -> None:
    await sandbox.faults("identity", latency_ms=300, routes=["GET /v1/orgs/{id}/members"])
    loaders = Loaders.build(upstreams)
    members = loaders[MEMBERS].load(MembersKey(org_id="org-1", first=2))
    loaders.load_ahead(USERS, ["user-40"])  # loaded only once the members page has primed its users

    page = await projects_page(loaders, "org-1", 5, None)

    assert isinstance(page, ProjectPage)
    assert members.done()
    user = loaders[USERS].load("user-40")
    assert user.done()
    assert user.result() is not None


async def test_users_that_fail_leave_the_page_to_its_fields(sandbox: Any, upstreams: Upstreams) -> None:
    await upstreams[IDENTITY].users_by_ids(["user-1"])  # hold a token: faults skip the token endpoint anyway
    await sandbox.faults("identity", error_rate=1.0, status=503)
    loaders = Loaders.build(upstreams)
    loaders.load_ahead(USERS, ["user-3"])

    page = await projects_page(loaders, "org-1", 5, None)

    assert isinstance(page, ProjectPage)
    user = loaders[USERS].load("user-3")
    assert user.done()
    assert isinstance(user.exception(), UpstreamUnavailable)


async def test_a_page_without_users_read_ahead_comes_at_once(sandbox: Any, upstreams: Upstreams) -> None:
    loaders = Loaders.build(upstreams)

    page = await projects_page(loaders, "org-1", 3, None)

    assert isinstance(page, ProjectPage)
    assert loaders[USERS].unsettled() == []


async def test_users_read_ahead_are_loaded_once_each_without_the_missing_ones(
    sandbox: Any, upstreams: Upstreams
) -> None:
    loaders = Loaders.build(upstreams)
    users_ahead(loaders, ["user-3", None, "user-7", "user-3", None])  # owners and assignees, some unassigned

    waiting = loaders[USERS].unsettled()

    assert len(waiting) == 2
    assert [user.id for user in await asyncio.gather(*waiting) if user] == ["user-3", "user-7"]


async def test_the_page_waits_for_every_batch_of_the_users_read_ahead(sandbox: Any, upstreams: Upstreams) -> None:
    await sandbox.faults("identity", latency_ms=200, routes=["GET /v1/users"])
    loaders = Loaders.build(upstreams)
    loaders.load_ahead(USERS, [f"user-{n}" for n in range(1, 251)])  # three batches of at most 100

    page = await projects_page(loaders, "org-1", 5, None)

    assert isinstance(page, ProjectPage)
    assert loaders[USERS].unsettled() == []
