"""The reference dashboard query, end to end over loopback against the real sandbox."""

from __future__ import annotations

import asyncio
from typing import Any

from harness import DASHBOARD_QUERY, Gateway, Sandbox, upstream_requests

from sandbox.seed import fresh_seed

# The minimum, in two levels of round trips: identity 3 (the org and its members page side by side;
# then one batch of owners and assignees outside that page), billing 3 (the customer; then
# subscription and invoices side by side), projects 1 (the projects page with each project's issues
# nested in it). The members page, the customer and the projects page need only the id the query
# passed, so they go out with the organization's own read.
DASHBOARD_FLOOR = upstream_requests(identity=3, billing=3, projects=1)


async def test_dashboard_returns_the_organization_as_the_upstreams_hold_it(gateway: Gateway, sandbox: Sandbox) -> None:
    result = await gateway.query(DASHBOARD_QUERY, {"orgId": "org-1"})

    assert "errors" not in result
    org = result["data"]["organization"]
    seed = fresh_seed()
    seed_org = seed.identity.orgs["org-1"]
    users = seed.identity.users
    assert org["id"] == "org-1"
    assert org["name"] == seed_org.name

    members = org["members"]
    assert members["totalCount"] == len(seed_org.member_ids)
    assert members["pageInfo"]["hasNextPage"] is True
    assert [m["id"] for m in members["nodes"]] == seed_org.member_ids[:50]
    assert all(m["name"] == users[m["id"]].name for m in members["nodes"])

    billing = org["billing"]
    customer_id = seed.billing.customer_by_org["org-1"]
    subscription = next(s for s in seed.billing.subscriptions.values() if s.customer == customer_id)
    assert (billing["plan"], billing["status"], billing["seats"]) == (
        subscription.plan,
        subscription.status.upper(),
        subscription.seats,
    )
    newest = seed.billing.invoices_by_customer[customer_id][:5]
    assert [invoice["id"] for invoice in billing["invoices"]] == newest
    first_invoice = seed.billing.invoices[newest[0]]
    assert billing["invoices"][0]["amountDue"]["currency"] == first_invoice.currency.upper()
    assert billing["invoices"][0]["number"] == first_invoice.number

    projects = org["projects"]["nodes"]
    assert [p["id"] for p in projects] == seed.projects.projects_by_org["org-1"][:20]
    for project in projects:
        seed_project = seed.projects.projects[project["id"]]
        assert project["owner"] == {"id": seed_project.owner_id, "name": users[seed_project.owner_id].name}
        issues = project["issues"]["nodes"]
        assert [i["id"] for i in issues] == seed.projects.issues_by_project[project["id"]][:10]
        for issue in issues:
            assignee_id = seed.projects.issues[issue["id"]].assignee_id
            assert assignee_id is not None
            assert issue["assignee"] == {"id": assignee_id, "name": users[assignee_id].name}


async def test_cold_dashboard_costs_one_upstream_call_per_level(gateway: Gateway, sandbox: Sandbox) -> None:
    await gateway.query('{ user(id: "user-1") { id } }')  # the sandbox reset revoked the token: fetch a new one
    before = await sandbox.api_requests()
    users_before = (await sandbox.stats("identity"))["routes"]["GET /v1/users"]

    result = await gateway.query(DASHBOARD_QUERY, {"orgId": "org-1"})

    assert "errors" not in result
    after = await sandbox.api_requests()
    counts = {upstream: after[upstream] - before[upstream] for upstream in after}
    print(f"dashboard upstream API requests (token excluded): {counts}, total {sum(counts.values())}")
    assert counts == DASHBOARD_FLOOR
    users_after = (await sandbox.stats("identity"))["routes"]["GET /v1/users"]
    assert users_after - users_before == 1, "owners and assignees outside the members page: one batch"


async def test_reads_that_need_only_the_org_id_go_out_while_the_org_itself_is_still_loading(
    gateway: Gateway, sandbox: Sandbox
) -> None:
    await gateway.query('{ user(id: "user-1") { id } }')  # a token first, so the org read is the first call
    await sandbox.faults("identity", latency_ms=3000, routes=["GET /v1/orgs"])
    dashboard = asyncio.create_task(gateway.query(DASHBOARD_QUERY, {"orgId": "org-1"}))

    seen = await _routes_seen(sandbox, {"identity": "GET /v1/orgs/{id}/members", "billing": "GET /v1/customers"})
    projects_seen = (await sandbox.stats("projects"))["routes"].get("POST /graphql", 0)

    assert not dashboard.done(), "the organization's own read is still held by the sandbox"
    assert seen, "members and customer went out beside the org read"
    assert projects_seen == 1, "and so did the projects page"
    result = await dashboard
    assert "errors" not in result
    assert result["data"]["organization"]["members"]["totalCount"] > 0


async def test_an_unknown_organization_is_null_and_its_read_ahead_is_dropped_quietly(
    gateway: Gateway, sandbox: Sandbox
) -> None:
    result = await gateway.query(DASHBOARD_QUERY, {"orgId": "org-404"})

    assert result == {"data": {"organization": None}}


async def test_read_ahead_follows_aliases_arguments_and_skipped_fields(gateway: Gateway, sandbox: Sandbox) -> None:
    query = """
      query ($skipBilling: Boolean!) {
        organization(id: "org-1") {
          a: members(first: 2) { nodes { id } }
          b: members(first: 3) { nodes { id } }
          billing @skip(if: $skipBilling) { plan }
          ... on Organization { projects(first: 101) { nodes { id } } }
        }
      }
    """
    await gateway.query('{ user(id: "user-1") { id } }')
    before = await sandbox.api_requests()

    result = await gateway.query(query, {"skipBilling": True})

    after = await sandbox.api_requests()
    organization = result["data"]["organization"]
    assert [len(organization[key]["nodes"]) for key in ("a", "b")] == [2, 3]
    assert "billing" not in organization
    assert organization["projects"] is None
    assert "between 1 and 100" in result["errors"][0]["message"]
    assert {upstream: after[upstream] - before[upstream] for upstream in after} == upstream_requests(
        identity=3,  # the org and two members pages
        billing=0,  # skipped: not read ahead either
        projects=0,  # a page size the field refuses is not read ahead
    )


async def _routes_seen(sandbox: Sandbox, routes: dict[str, str], *, attempts: int = 100) -> bool:
    """Until each upstream has seen its route (polled, bounded)."""
    for _ in range(attempts):
        stats = {upstream: (await sandbox.stats(upstream))["routes"] for upstream in routes}
        if all(stats[upstream].get(route, 0) >= 1 for upstream, route in routes.items()):
            return True
        await asyncio.sleep(0.02)
    return False


async def test_concurrent_dashboards_do_not_share_loader_state(gateway: Gateway, sandbox: Sandbox) -> None:
    results: list[dict[str, Any]] = await asyncio.gather(
        *(gateway.query(DASHBOARD_QUERY, {"orgId": org}) for org in ("org-1", "org-2", "org-1"))
    )
    assert results[0] == results[2]
    assert results[1]["data"]["organization"]["id"] == "org-2"
