"""Read ahead is declared by a field (``schema.selection.read_ahead``) and honoured from any parent
resolved by key: ``organization(id:)``, ``User.organization``, federation ``_entities``,
``project(id:)``. The reads go out beside the parent's own read, not after it."""

from __future__ import annotations

import asyncio
from typing import Any

from harness import Gateway, Sandbox, upstream_requests

MEMBERS_ROUTE = "GET /v1/orgs/{id}/members"


async def held_org_read(gateway: Gateway, sandbox: Sandbox, query: str, variables: dict[str, Any] | None = None) -> Any:
    """Runs ``query`` while the identity sandbox holds every organization read for 3 s, and says
    whether the members page went out while the organization's own read was still held."""
    await gateway.query('{ user(id: "user-1") { id } }')  # a token first
    await sandbox.faults("identity", latency_ms=3000, routes=["GET /v1/orgs"])
    running = asyncio.create_task(gateway.query(query, variables))
    seen = False
    for _ in range(100):
        routes = (await sandbox.stats("identity"))["routes"]
        if routes.get(MEMBERS_ROUTE, 0) >= 1:
            seen = not running.done()
            break
        await asyncio.sleep(0.02)
    return seen, await running


async def test_an_organization_reached_through_a_user_reads_its_members_ahead(
    gateway: Gateway, sandbox: Sandbox
) -> None:
    query = '{ user(id: "user-2") { organization { id members(first: 2) { nodes { id } } } } }'

    seen, result = await held_org_read(gateway, sandbox, query)

    assert seen, "the members page went out beside the organization's read"
    assert "errors" not in result
    assert len(result["data"]["user"]["organization"]["members"]["nodes"]) == 2


async def test_a_federation_entity_reads_its_declared_fields_ahead(gateway: Gateway, sandbox: Sandbox) -> None:
    query = """query ($reps: [_Any!]!) {
      _entities(representations: $reps) {
        ... on User { id }
        ... on Organization { id members(first: 3) { totalCount nodes { id } } }
      }
    }"""
    reps = [{"__typename": "Organization", "id": "org-2"}]

    seen, result = await held_org_read(gateway, sandbox, query, {"reps": reps})

    assert seen, "the members page went out beside the organization's read"
    assert "errors" not in result
    assert len(result["data"]["_entities"][0]["members"]["nodes"]) == 3


async def test_a_project_by_id_reads_its_issues_ahead(gateway: Gateway, sandbox: Sandbox) -> None:
    """Read ahead: the issue page goes out with the project's read, so even an unknown project's
    issues are asked for (and dropped quietly)."""
    before = (await sandbox.stats("projects"))["requests"]

    result = await gateway.query('{ project(id: "proj-999999") { id issues(first: 2) { totalCount } } }')

    assert result == {"data": {"project": None}}
    assert (await sandbox.stats("projects"))["requests"] - before == 2, "the project and its issues, side by side"


async def test_a_field_that_declares_no_read_ahead_waits_for_its_parent(gateway: Gateway, sandbox: Sandbox) -> None:
    await gateway.query('{ user(id: "user-1") { id } }')
    before = await sandbox.api_requests()

    result = await gateway.query('{ organization(id: "org-404") { id name } }')

    after = await sandbox.api_requests()
    assert result == {"data": {"organization": None}}
    assert {name: after[name] - before[name] for name in after} == upstream_requests(identity=1)


async def test_a_skipped_field_is_not_read_ahead_and_a_variable_argument_is(gateway: Gateway, sandbox: Sandbox) -> None:
    query = """query ($id: ID!, $n: Int!, $skip: Boolean!) {
      project(id: $id) { id issues(first: $n) @skip(if: $skip) { totalCount } }
    }"""
    before = (await sandbox.stats("projects"))["requests"]

    await gateway.query(query, {"id": "proj-999998", "n": 2, "skip": True})
    skipped = (await sandbox.stats("projects"))["requests"] - before
    await gateway.query(query, {"id": "proj-999997", "n": 3, "skip": False})
    read = (await sandbox.stats("projects"))["requests"] - before - skipped

    assert (skipped, read) == (1, 2), "an unknown project: only a read started ahead asks for its issues"
