"""Reads started from an answer (``schema.selection.read_from``): the next level of a query goes
upstream as soon as the answer naming its keys is in, without waiting for the rest of the request.
The organization's own read is held by the sandbox here, so that the executor cannot reach the
organization's fields: whatever goes upstream meanwhile was started from the answers of the reads
that went out beside it (the projects page, the billing customer)."""

from __future__ import annotations

import asyncio
from typing import Any

from harness import DASHBOARD_QUERY, Gateway, Sandbox, upstream_requests

USERS_ROUTE = "GET /v1/users"
SUBSCRIPTIONS_ROUTE = "GET /v1/subscriptions"
INVOICES_ROUTE = "GET /v1/invoices"

OWNERS_AND_ASSIGNEES = """query ($orgId: ID!, $withUsers: Boolean!) {
  organization(id: $orgId) {
    id
    projects(first: 5) {
      nodes {
        id
        owner @include(if: $withUsers) { id name }
        issues(first: 3) { nodes { id assignee @include(if: $withUsers) { id name } } }
      }
    }
  }
}"""


async def seen_while_org_held(
    gateway: Gateway, sandbox: Sandbox, query: str, variables: dict[str, Any], watched: dict[str, str]
) -> tuple[set[str], dict[str, Any], set[str]]:
    """Runs ``query`` while the identity sandbox holds every organization read for 3 s, and says
    which of the ``watched`` routes (upstream by route) were asked for before the query answered,
    the answer, and which were asked for at all."""
    await gateway.query('{ user(id: "user-1") { id } }')  # a token first
    before = {route: await requests_of(sandbox, upstream, route) for route, upstream in watched.items()}
    await sandbox.faults("identity", latency_ms=3000, routes=["GET /v1/orgs"])
    running = asyncio.create_task(gateway.query(query, variables))
    seen: set[str] = set()
    for _ in range(100):
        for route, upstream in watched.items():
            if await requests_of(sandbox, upstream, route) > before[route] and not running.done():
                seen.add(route)
        if seen == set(watched) or running.done():
            break
        await asyncio.sleep(0.02)
    result = await running
    asked = {
        route for route, upstream in watched.items() if await requests_of(sandbox, upstream, route) > before[route]
    }
    return seen, result, asked


async def requests_of(sandbox: Sandbox, upstream: str, route: str) -> int:
    count: int = (await sandbox.stats(upstream))["routes"].get(route, 0)
    return count


async def answer_unheld(gateway: Gateway, sandbox: Sandbox, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    await sandbox.faults("identity")
    return await gateway.query(query, variables)


async def test_the_dashboards_second_level_goes_out_before_the_organization_answers(
    gateway: Gateway, sandbox: Sandbox
) -> None:
    watched = {USERS_ROUTE: "identity", SUBSCRIPTIONS_ROUTE: "billing", INVOICES_ROUTE: "billing"}

    seen, result, asked = await seen_while_org_held(gateway, sandbox, DASHBOARD_QUERY, {"orgId": "org-1"}, watched)

    assert seen == asked == set(watched), "owners and assignees from the projects page, billing from the customer"
    assert result == await answer_unheld(gateway, sandbox, DASHBOARD_QUERY, {"orgId": "org-1"})
    assert "errors" not in result


async def test_the_dashboard_still_takes_seven_requests(gateway: Gateway, sandbox: Sandbox) -> None:
    await gateway.query('{ user(id: "user-1") { id } }')
    before = await sandbox.api_requests()

    await gateway.query(DASHBOARD_QUERY, {"orgId": "org-1"})

    after = await sandbox.api_requests()
    assert {name: after[name] - before[name] for name in after} == upstream_requests(identity=3, billing=3, projects=1)


async def test_a_selection_without_owners_or_assignees_reads_no_users(gateway: Gateway, sandbox: Sandbox) -> None:
    await gateway.query('{ user(id: "user-1") { id } }')
    before = await sandbox.api_requests()

    result = await gateway.query(OWNERS_AND_ASSIGNEES, {"orgId": "org-1", "withUsers": False})

    after = await sandbox.api_requests()
    assert "errors" not in result
    assert {name: after[name] - before[name] for name in after} == upstream_requests(identity=1, projects=1)


async def test_included_owners_and_assignees_are_read_from_the_projects_page(
    gateway: Gateway, sandbox: Sandbox
) -> None:
    variables = {"orgId": "org-1", "withUsers": True}

    seen, result, asked = await seen_while_org_held(
        gateway, sandbox, OWNERS_AND_ASSIGNEES, variables, {USERS_ROUTE: "identity"}
    )

    assert seen == asked == {USERS_ROUTE}
    assert result == await answer_unheld(gateway, sandbox, OWNERS_AND_ASSIGNEES, variables)
    projects = result["data"]["organization"]["projects"]["nodes"]
    assert all(project["owner"]["name"] for project in projects)


async def test_a_page_size_the_field_refuses_is_not_read_and_the_field_reports_it(
    gateway: Gateway, sandbox: Sandbox
) -> None:
    query = """query ($orgId: ID!) {
      organization(id: $orgId) { billing { plan invoices(first: 100000) { id } } }
    }"""

    seen, result, asked = await seen_while_org_held(
        gateway, sandbox, query, {"orgId": "org-1"}, {SUBSCRIPTIONS_ROUTE: "billing", INVOICES_ROUTE: "billing"}
    )

    assert seen == asked == {SUBSCRIPTIONS_ROUTE}
    assert result["data"] == {"organization": {"billing": None}}, "the non-null invoices failed"
    assert [error["extensions"]["code"] for error in result["errors"]] == ["BAD_USER_INPUT"]


async def test_an_unknown_organization_reads_nothing_from_its_empty_answers(gateway: Gateway, sandbox: Sandbox) -> None:
    await gateway.query('{ user(id: "user-1") { id } }')
    before = await sandbox.api_requests()

    result = await gateway.query(DASHBOARD_QUERY, {"orgId": "org-404"})

    after = await sandbox.api_requests()
    assert result == {"data": {"organization": None}}
    assert {name: after[name] - before[name] for name in after} == upstream_requests(
        identity=2, billing=1, projects=1
    ), "the organization and what was read ahead beside it, nothing from their answers"


async def test_users_read_from_a_projects_page_wait_for_a_slower_members_page(
    gateway: Gateway, sandbox: Sandbox
) -> None:
    """The members page primes the users it lists: the owners and assignees are asked for after it,
    in one batch, and the answer is the one an unhurried members page gives."""
    await gateway.query('{ user(id: "user-1") { id } }')
    before = await sandbox.api_requests()
    await sandbox.faults("identity", latency_ms=500, routes=["GET /v1/orgs/{id}/members"])

    result = await gateway.query(DASHBOARD_QUERY, {"orgId": "org-1"})

    after = await sandbox.api_requests()
    assert {name: after[name] - before[name] for name in after} == upstream_requests(identity=3, billing=3, projects=1)
    assert result == await answer_unheld(gateway, sandbox, DASHBOARD_QUERY, {"orgId": "org-1"})
