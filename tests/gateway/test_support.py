"""The support upstream, end to end: an organization's tickets with their requesters, a join of the
support and identity upstreams (one support request per page, the requesters in one identity batch)."""

from __future__ import annotations

from typing import Any

from harness import Gateway, Sandbox, upstream_requests

from sandbox.seed import fresh_identity
from sandbox.support_data import fresh_support

TICKETS = """query ($org: ID!, $first: Int!, $after: String) {
  organization(id: $org) {
    id
    tickets(first: $first, after: $after) {
      pageInfo { hasNextPage endCursor }
      nodes { id subject status priority createdAt requester { id name } }
    }
  }
}"""


def seeded_tickets(org_id: str) -> list[Any]:
    data = fresh_support()
    return [data.tickets[ticket_id] for ticket_id in data.by_org[org_id]]


async def counted(gateway: Gateway, sandbox: Sandbox, query: str, variables: dict[str, Any]) -> Any:
    await gateway.query('{ user(id: "user-1") { id } }')  # a token first
    before = await sandbox.api_requests()
    result = await gateway.query(query, variables)
    after = await sandbox.api_requests()
    return result, {name: after[name] - before[name] for name in after}


async def test_an_organizations_tickets_come_with_their_requesters(gateway: Gateway, sandbox: Sandbox) -> None:
    result, counts = await counted(gateway, sandbox, TICKETS, {"org": "org-1", "first": 10})

    assert "errors" not in result
    tickets = result["data"]["organization"]["tickets"]
    seeded = seeded_tickets("org-1")
    users = fresh_identity().users
    assert [node["id"] for node in tickets["nodes"]] == [str(ticket.id) for ticket in seeded[:10]]
    for node, ticket in zip(tickets["nodes"], seeded, strict=False):
        assert (node["subject"], node["status"], node["priority"]) == (ticket.subject, ticket.status, ticket.priority)
        assert node["requester"] == {"id": ticket.requester_id, "name": users[ticket.requester_id].name}
    assert tickets["pageInfo"]["hasNextPage"] is True
    assert counts == upstream_requests(identity=2, support=1), "the org and one batch of requesters; one page"


async def test_the_next_page_follows_the_end_cursor(gateway: Gateway, sandbox: Sandbox) -> None:
    first = await gateway.query(TICKETS, {"org": "org-1", "first": 20})
    cursor = first["data"]["organization"]["tickets"]["pageInfo"]["endCursor"]

    rest = await gateway.query(TICKETS, {"org": "org-1", "first": 20, "after": cursor})

    page = rest["data"]["organization"]["tickets"]
    assert [node["id"] for node in page["nodes"]] == [str(ticket.id) for ticket in seeded_tickets("org-1")[20:]]
    assert page["pageInfo"]["hasNextPage"] is False


async def test_a_rejected_cursor_fails_the_tickets_field_only(gateway: Gateway, sandbox: Sandbox) -> None:
    result = await gateway.query(TICKETS, {"org": "org-1", "first": 5, "after": "not-a-cursor"})

    assert result["data"]["organization"] == {"id": "org-1", "tickets": None}
    [error] = result["errors"]
    assert error["path"] == ["organization", "tickets"]
    assert error["extensions"]["code"] == "UPSTREAM_BAD_REQUEST"
    assert error["extensions"]["upstream"] == "support"


async def test_a_support_outage_leaves_the_organization_standing(gateway: Gateway, sandbox: Sandbox) -> None:
    await sandbox.faults("support", error_rate=1, status=503)

    result = await gateway.query(TICKETS, {"org": "org-2", "first": 5})

    assert result["data"]["organization"] == {"id": "org-2", "tickets": None}
    assert result["errors"][0]["extensions"]["code"] == "UPSTREAM_UNAVAILABLE"


async def test_tickets_of_several_organizations_cost_a_request_each_and_one_identity_batch(
    gateway: Gateway, sandbox: Sandbox
) -> None:
    query = """{ users(ids: ["user-2", "user-77"]) {
      organization { tickets(first: 3) { nodes { id requester { name } } } }
    } }"""

    result, counts = await counted(gateway, sandbox, query, {})

    assert "errors" not in result
    orgs = {user["organization"]["tickets"]["nodes"][0]["id"] for user in result["data"]["users"]}
    assert len(orgs) == 2
    assert counts["support"] == 2, "one page per organization: the API has no batch of pages"
    assert counts["identity"] == 3, "the users, their organizations, then every requester in one batch"


async def test_the_upstreams_query_lists_support_and_its_vendor(gateway: Gateway) -> None:
    result = await gateway.query("{ upstreams { name vendor } }")

    assert {"name": "support", "vendor": "support"} in result["data"]["upstreams"]
