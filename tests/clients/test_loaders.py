"""The DataLoader contract of resolvers/loaders against the real upstreams: batching, order,
not-found as None and a failed batch as one exception per key."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest
from prometheus_client import REGISTRY

from clients.billing import CUSTOMERS, INVOICES, InvoicesKey
from clients.errors import UpstreamError, UpstreamUnavailable
from clients.identity import IDENTITY, MEMBERS, USERS, IdentityUser, MembersKey
from clients.projects import (
    ISSUES,
    PROJECT_PAGES,
    PROJECTS,
    IssuePage,
    IssuesKey,
    ProjectNode,
    ProjectPage,
    ProjectsKey,
)
from clients.upstreams import Upstreams
from resolvers.loaders import Loaders
from tests.clients.support import route_count

USERS_ROUTE = "GET /v1/users"
GRAPHQL = "POST /graphql"


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def settle(*calls: Any) -> list[Any]:
    """Per-key outcomes of one batch, values and exceptions alike."""
    return list(await asyncio.gather(*calls, return_exceptions=True))


async def test_unknown_user_ids_load_as_none_in_key_order(sandbox: Any, upstreams: Upstreams) -> None:
    loaders = Loaders.build(upstreams)
    keys = ["user-7", "user-missing-1", "user-3", "user-missing-2", "user-7"]

    users = await loaders[USERS].load_many(keys)

    assert [user.id if user else None for user in users] == ["user-7", None, "user-3", None, "user-7"]
    assert all(isinstance(user, IdentityUser) for user in users if user is not None)
    assert await route_count(sandbox, "identity", USERS_ROUTE) == 1


async def test_an_identity_outage_fails_every_key_of_the_batch(sandbox: Any, upstreams: Upstreams) -> None:
    loaders = Loaders.build(upstreams)
    await upstreams[IDENTITY].users_by_ids(["user-1"])  # hold a token: faults skip the token endpoint anyway
    await sandbox.faults("identity", error_rate=1.0, status=503)
    keys = [f"user-{n}" for n in range(1, 11)]

    outcomes = await settle(*(loaders[USERS].load(key) for key in keys))

    assert len(outcomes) == len(keys)
    assert all(isinstance(outcome, UpstreamUnavailable) for outcome in outcomes), outcomes
    assert await route_count(sandbox, "identity", USERS_ROUTE) == 4  # the warm-up, then one batch tried 3 times


async def test_load_many_during_an_outage_raises_unavailable(sandbox: Any, upstreams: Upstreams) -> None:
    loaders = Loaders.build(upstreams)
    await upstreams[IDENTITY].users_by_ids(["user-1"])
    await sandbox.faults("identity", error_rate=1.0, status=503)

    with pytest.raises(UpstreamUnavailable) as caught:
        await loaders[USERS].load_many(["user-1", "user-2", "user-3"])

    assert caught.value.upstream == "identity"


async def test_the_next_request_loads_a_key_that_failed_once_the_upstream_recovers(
    sandbox: Any, upstreams: Upstreams
) -> None:
    await upstreams[IDENTITY].users_by_ids(["user-1"])
    await sandbox.faults("identity", error_rate=1.0, status=503)
    [failed] = await settle(Loaders.build(upstreams)[USERS].load("user-5"))
    assert isinstance(failed, UpstreamUnavailable)

    await sandbox.faults("identity")
    user = await Loaders.build(upstreams)[USERS].load("user-5")  # loaders live for one gateway request

    assert user is not None
    assert user.id == "user-5"


async def test_two_hundred_fifty_user_ids_cost_three_batch_requests(sandbox: Any, upstreams: Upstreams) -> None:
    loaders = Loaders.build(upstreams)
    keys = [f"user-{n}" for n in range(1, 251)]

    users = await loaders[USERS].load_many(keys)

    assert [user.id for user in users if user is not None] == keys
    assert await route_count(sandbox, "identity", USERS_ROUTE) == 3


async def test_each_batch_observes_its_size_by_the_time_its_keys_are_answered(
    sandbox: Any, upstreams: Upstreams
) -> None:
    labels = {"upstream": "identity", "read": USERS.name}
    count, total = sample("mobius_loader_batch_size_count", **labels), sample("mobius_loader_batch_size_sum", **labels)

    await Loaders.build(upstreams)[USERS].load_many(["user-1", "user-2", "user-3"])

    assert sample("mobius_loader_batch_size_count", **labels) == count + 1
    assert sample("mobius_loader_batch_size_sum", **labels) == total + 3


async def test_a_page_key_built_again_finds_the_page_loaded_by_an_equal_one(sandbox: Any, upstreams: Upstreams) -> None:
    loaders = Loaders.build(upstreams)
    loaded = await loaders[ISSUES].load(IssuesKey(project_id="proj-1", first=3, state="OPEN"))
    again = IssuesKey(project_id="proj-1", first=3, state="OPEN")

    assert hash(again) == hash(IssuesKey("proj-1", 3, None, "OPEN"))
    assert {again: "page"}[IssuesKey("proj-1", 3, state="OPEN")] == "page"
    assert IssuesKey("proj-1", 3) != again
    assert loaders[ISSUES].answered(again) is loaded
    assert await route_count(sandbox, "projects", GRAPHQL) == 1


async def test_loading_a_listed_project_after_its_org_page_costs_no_request(sandbox: Any, upstreams: Upstreams) -> None:
    loaders = Loaders.build(upstreams)
    page = await loaders[PROJECT_PAGES].load(ProjectsKey(org_id="org-1", first=10))
    assert isinstance(page, ProjectPage)
    assert len(page.nodes) == 10
    assert await route_count(sandbox, "projects", GRAPHQL) == 1

    listed = await loaders[PROJECTS].load_many([node.id for node in page.nodes])

    assert listed == page.nodes
    assert await route_count(sandbox, "projects", GRAPHQL) == 1


async def test_an_unlisted_project_is_fetched_and_an_unknown_one_is_none(sandbox: Any, upstreams: Upstreams) -> None:
    loaders = Loaders.build(upstreams)

    found, missing = await loaders[PROJECTS].load_many(["proj-1", "proj-does-not-exist"])

    assert isinstance(found, ProjectNode)
    assert found.id == "proj-1"
    assert missing is None
    assert await route_count(sandbox, "projects", GRAPHQL) == 1


async def test_issues_of_twenty_projects_cost_one_graphql_request(sandbox: Any, upstreams: Upstreams) -> None:
    loaders = Loaders.build(upstreams)
    page = await loaders[PROJECT_PAGES].load(ProjectsKey(org_id="org-1", first=20))
    project_ids = [node.id for node in page.nodes]
    assert len(project_ids) == 20
    before = await route_count(sandbox, "projects", GRAPHQL)

    pages = await loaders[ISSUES].load_many([IssuesKey(project_id=pid, first=5) for pid in project_ids])

    assert await route_count(sandbox, "projects", GRAPHQL) == before + 1
    assert all(isinstance(issues, IssuePage) for issues in pages)
    for pid, issues in zip(project_ids, pages, strict=True):
        assert issues is not None
        assert all(issue.project_id == pid for issue in issues.nodes)


async def test_issues_of_an_unknown_project_are_none_beside_known_ones(sandbox: Any, upstreams: Upstreams) -> None:
    loaders = Loaders.build(upstreams)

    known, unknown = await loaders[ISSUES].load_many(
        [IssuesKey(project_id="proj-1", first=3), IssuesKey(project_id="proj-nope", first=3)]
    )

    assert isinstance(known, IssuePage)
    assert unknown is None
    assert await route_count(sandbox, "projects", GRAPHQL) == 1


async def test_a_projects_outage_fails_every_issues_key(sandbox: Any, upstreams: Upstreams) -> None:
    loaders = Loaders.build(upstreams)
    await sandbox.faults("projects", error_rate=1.0, status=503)

    outcomes = await settle(*(loaders[ISSUES].load(IssuesKey(project_id=f"proj-{n}", first=3)) for n in range(1, 6)))

    assert all(isinstance(outcome, UpstreamUnavailable) for outcome in outcomes), outcomes
    assert await route_count(sandbox, "projects", GRAPHQL) == 3  # one request, tried 3 times


async def test_members_page_primes_the_user_loader(sandbox: Any, upstreams: Upstreams) -> None:
    loaders = Loaders.build(upstreams)
    page = await loaders[MEMBERS].load(MembersKey(org_id="org-1", first=10))
    assert page is not None
    assert await route_count(sandbox, "identity", USERS_ROUTE) == 0

    users = await loaders[USERS].load_many([user.id for user in page.data])

    assert users == page.data
    assert await route_count(sandbox, "identity", USERS_ROUTE) == 0


async def test_billing_fan_out_gives_each_key_its_own_outcome(sandbox: Any, upstreams: Upstreams) -> None:
    loaders = Loaders.build(upstreams)
    orgs = ["org-1", "org-2", "org-does-not-exist"]

    customers = await loaders[CUSTOMERS].load_many(orgs)

    assert [c.org_id if c else None for c in customers] == ["org-1", "org-2", None]
    assert await route_count(sandbox, "billing", "GET /v1/customers") == 3
    customer = customers[0]
    assert customer is not None
    invoices = await loaders[INVOICES].load(InvoicesKey(customer_id=customer.id, first=3))
    assert all(invoice.customer == customer.id for invoice in invoices)
    assert not isinstance(invoices, UpstreamError)


async def test_a_members_page_does_not_replace_a_user_loaded_before_it(sandbox: Any, upstreams: Upstreams) -> None:
    loaders = Loaders.build(upstreams)
    page = await loaders[MEMBERS].load(MembersKey(org_id="org-1", first=10))
    assert page is not None
    assert page.data
    first = page.data[0].id
    fresh = Loaders.build(upstreams)
    loaded = fresh[USERS].load(first)

    await fresh[MEMBERS].load(MembersKey(org_id="org-1", first=10))

    assert fresh[USERS].load(first) is loaded


async def test_release_forgets_every_loaded_value(sandbox: Any, upstreams: Upstreams) -> None:
    loaders = Loaders.build(upstreams)
    users = loaders[USERS]
    await users.load("user-3")
    assert await route_count(sandbox, "identity", USERS_ROUTE) == 1

    loaders.release()

    assert loaders.released
    assert users.unsettled() == []
    await users.load("user-3")  # a loader held past the release has no value left: it goes upstream again
    assert await route_count(sandbox, "identity", USERS_ROUTE) == 2


async def test_what_an_answer_loads_ahead_is_dispatched_before_anyone_awaiting_it_resumes(
    sandbox: Any, upstreams: Upstreams
) -> None:
    """``Loaders.then``: the keys it loads are in flight once the answer resolves, with no loop turn
    between, and a key loaded later by the field awaiting the answer goes in a batch of its own."""
    loaders = Loaders.build(upstreams)
    users = loaders[USERS]
    loop = asyncio.get_running_loop()
    turns: list[str] = []

    def told(_customer: object) -> None:
        users.load("user-3")
        users.load("user-7")
        loop.call_soon(loop.call_soon, turns.append, "two turns later")

    customer = loaders[CUSTOMERS].load("org-1")
    loaders.then(customer, told)
    on_answer: list[tuple[bool, list[str]]] = []
    customer.add_done_callback(lambda _done: on_answer.append((users.queued(), list(turns))))

    assert await customer is not None
    assert on_answer == [(False, [])]
    later = users.load("user-9")
    ahead = await users.load_many(["user-3", "user-7"])

    assert [user.id if user else None for user in ahead] == ["user-3", "user-7"]
    assert (await later) is not None
    assert await route_count(sandbox, "identity", USERS_ROUTE) == 2


async def test_what_an_answer_loads_ahead_is_sent_before_the_loop_runs_what_it_had_queued(
    sandbox: Any, upstreams: Upstreams, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The batch ``Loaders.then`` dispatches takes its first step at once: its request is on its way
    upstream before the loop runs what was queued before it (the completion of other answers, the
    fields awaiting them), not behind all of that."""
    loaders = Loaders.build(upstreams)
    users = loaders[USERS]
    await users.load("user-1")  # the identity connection is open: the next request is sent at once
    loop = asyncio.get_running_loop()
    sent: list[str] = []
    queued_before: list[list[str]] = []
    original = aiohttp.ClientSession._request

    async def request(session: aiohttp.ClientSession, method: str, url: Any, **kwargs: Any) -> Any:
        sent.append(f"{method} {url.path}")
        return await original(session, method, url, **kwargs)

    monkeypatch.setattr(aiohttp.ClientSession, "_request", request)

    def told(_customer: object) -> None:
        loop.call_soon(lambda: queued_before.append(list(sent)))
        users.load("user-3")

    customer = loaders[CUSTOMERS].load("org-1")
    loaders.then(customer, told)

    assert await customer is not None
    assert queued_before == [["GET /v1/customers", USERS_ROUTE]]
    assert (await users.load("user-3")) is not None


async def test_a_batch_an_answer_loads_ahead_fails_its_keys_when_the_upstream_fails(
    sandbox: Any, upstreams: Upstreams
) -> None:
    """A batch started at once from ``Loaders.then`` settles as any batch: its upstream's failure
    is every key's, for whoever awaits them."""
    loaders = Loaders.build(upstreams)
    users = loaders[USERS]
    await upstreams[IDENTITY].users_by_ids(["user-1"])  # hold a token: faults skip the token endpoint anyway
    await sandbox.faults("identity", error_rate=1.0, status=503)
    ahead: list[asyncio.Future[Any]] = []

    def told(_customer: object) -> None:
        ahead.extend(users.load(key) for key in ("user-3", "user-7"))

    customer = loaders[CUSTOMERS].load("org-1")
    loaders.then(customer, told)

    assert await customer is not None
    outcomes = await settle(*ahead)
    assert [type(outcome) for outcome in outcomes] == [UpstreamUnavailable, UpstreamUnavailable]
