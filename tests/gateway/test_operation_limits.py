"""Operation limits over HTTP: each refusal is a coded request error naming its limit, value and
maximum, answered before any upstream is asked; costs sized by variables are checked per request."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from harness import DASHBOARD_QUERY, Gateway, Sandbox, upstream_requests

GRAPHQL_RESPONSE = "application/graphql-response+json"


async def post(gateway: Gateway, query: str, variables: dict[str, Any] | None = None) -> tuple[int, dict[str, Any]]:
    async with gateway.http.post(
        f"{gateway.url}/graphql",
        json={"query": query, "variables": variables or {}},
        headers={"Accept": GRAPHQL_RESPONSE},
    ) as response:
        return response.status, await response.json(content_type=None)


def chain(links: int) -> str:
    """A fragment chain where each fragment spreads the next twice: 2**links fields once expanded."""
    fragments = [f"fragment F{i} on User {{ ...F{i + 1} ...F{i + 1} }}" for i in range(links)]
    fragments.append(f"fragment F{links} on User {{ id name }}")
    return '{ user(id: "user-1") { ...F0 } }\n' + "\n".join(fragments)


DEEP = '{ user(id: "user-1") { ' + "organization { " * 12 + "id" + " }" * 12 + " } }"
ALIASES = "{ " + " ".join(f"a{i}: __typename" for i in range(31)) + " }"
ROOT_FIELDS = "{ " + " ".join(["__typename"] * 31) + " }"
DIRECTIVES = "{ " + " ".join(["__typename @include(if: true) @skip(if: false)"] * 26) + " }"
FIELDS = chain(11)
COST = '{ users(ids: ["user-1"]) { organization { members(first: 100) { nodes { organization { name } } } } } }'


@pytest.mark.parametrize(
    ("query", "limit", "maximum"),
    [
        (DEEP, "depth", 12),
        (ALIASES, "aliases", 30),
        (ROOT_FIELDS, "root_fields", 30),
        (DIRECTIVES, "directives", 50),
        (FIELDS, "fields", 2000),
    ],
    ids=["depth", "aliases", "root-fields", "directives", "fields"],
)
async def test_each_limit_refuses_with_its_name_value_and_maximum_before_any_upstream_request(
    gateway: Gateway, sandbox: Sandbox, query: str, limit: str, maximum: int
) -> None:
    before = await sandbox.api_requests()
    status, payload = await post(gateway, query)
    assert status == 400
    assert "data" not in payload
    extensions = payload["errors"][0]["extensions"]
    assert extensions["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert extensions["limit"] == limit
    assert extensions["maximum"] == maximum
    assert extensions["value"] > maximum
    assert await sandbox.api_requests() == before


async def test_a_costly_query_is_refused_with_zero_upstream_requests(gateway: Gateway, sandbox: Sandbox) -> None:
    await sandbox.reset()
    huge = COST.replace('ids: ["user-1"]', "ids: [" + ", ".join(f'"user-{i}"' for i in range(1, 301)) + "]")
    status, payload = await post(gateway, huge)
    assert status == 400
    extensions = payload["errors"][0]["extensions"]
    assert (extensions["code"], extensions["limit"], extensions["maximum"]) == (
        "GRAPHQL_VALIDATION_FAILED",
        "cost",
        500,
    )
    assert extensions["value"] > 500
    assert await sandbox.api_requests() == upstream_requests()


async def test_a_cost_sized_by_variables_is_checked_per_request_with_the_same_document(
    gateway: Gateway, sandbox: Sandbox
) -> None:
    query = """query Members($ids: [ID!]!, $first: Int!) {
      users(ids: $ids) { organization { members(first: $first) { nodes { organization { name } } } } }
    }"""
    ids = [f"user-{i}" for i in range(1, 301)]
    await sandbox.reset()
    status, refused = await post(gateway, query, {"ids": ids, "first": 100})
    assert status == 400
    assert refused["errors"][0]["extensions"]["limit"] == "cost"
    assert await sandbox.api_requests() == upstream_requests()

    status, allowed = await post(gateway, query, {"ids": ["user-1"], "first": 2})
    assert status == 200
    assert "errors" not in allowed
    assert len(allowed["data"]["users"][0]["organization"]["members"]["nodes"]) == 2


async def test_the_dashboard_passes_every_limit(gateway: Gateway) -> None:
    status, payload = await post(gateway, DASHBOARD_QUERY, {"orgId": "org-1"})
    assert status == 200
    assert "errors" not in payload


async def test_a_hundred_fragment_chain_is_refused_while_liveness_keeps_answering(gateway: Gateway) -> None:
    async def live() -> int:
        async with gateway.http.get(f"{gateway.url}/health/live") as response:
            return response.status

    refused, alive = await asyncio.wait_for(asyncio.gather(post(gateway, chain(100)), live()), timeout=30)
    assert refused[0] == 400
    assert refused[1]["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert alive == 200
