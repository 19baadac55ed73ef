"""Batched requests (a JSON array in one POST): refused unless ``http.batching`` is on, bounded
when on, each entry admitted and answered like a single request, in order."""

from __future__ import annotations

from collections.abc import Iterator

import aiohttp
import pytest
from harness import GatewayServer, Sandbox
from http_support import GRAPHQL_RESPONSE, JSON, Endpoint, SandboxServerInfo, serving, settings_for


@pytest.fixture(scope="module")
def batching(sandbox_server: SandboxServerInfo) -> Iterator[GatewayServer]:
    with serving(settings_for(sandbox_server, http={"batching": {"enabled": True, "max_operations": 3}})) as server:
        yield server


@pytest.fixture
def batch_endpoint(batching: GatewayServer, http: aiohttp.ClientSession) -> Endpoint:
    return Endpoint(batching.url, http)


async def test_batches_are_refused_by_default(endpoint: Endpoint) -> None:
    reply = await endpoint.post([{"query": "{ __typename }"}], accept=GRAPHQL_RESPONSE)

    assert (reply.status, reply.codes) == (400, ["BATCHING_NOT_ENABLED"])


@pytest.mark.parametrize("accept", [GRAPHQL_RESPONSE, JSON])
async def test_each_entry_is_answered_in_order_like_a_single_request(batch_endpoint: Endpoint, accept: str) -> None:
    reply = await batch_endpoint.post(
        [
            {"query": "query ($id: ID!) { user(id: $id) { id } }", "variables": {"id": "user-2"}},
            {"query": "{ nope }"},
            {"query": "query ($id: ID!) { user(id: $id) { id } }", "variables": {}},
        ],
        accept=accept,
    )

    assert (reply.status, reply.media_type) == (200, accept)
    first, second, third = reply.json
    assert first == {"data": {"user": {"id": "user-2"}}}
    assert "data" not in second
    assert second["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert "data" not in third
    assert third["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_an_entry_that_is_not_well_formed_is_answered_in_its_place(batch_endpoint: Endpoint) -> None:
    reply = await batch_endpoint.post([{"query": 7}, "not a request", {"query": "{ __typename }"}])

    assert [entry.get("data") for entry in reply.json] == [None, None, {"__typename": "Query"}]
    assert [entry["errors"][0]["extensions"]["code"] for entry in reply.json[:2]] == ["BAD_REQUEST", "BAD_REQUEST"]


@pytest.mark.parametrize("size", [0, 4])
async def test_a_batch_outside_its_bound_is_refused_whole(
    batch_endpoint: Endpoint, sandbox: Sandbox, size: int
) -> None:
    reply = await batch_endpoint.post([{"query": '{ user(id: "user-1") { id } }'}] * size)

    assert (reply.status, reply.codes) == (400, ["BATCH_TOO_LARGE"])
    assert sum((await sandbox.api_requests()).values()) == 0


async def test_a_batch_over_get_is_not_a_thing(batch_endpoint: Endpoint) -> None:
    reply = await batch_endpoint.get({"query": '[{"query": "{ __typename }"}]'})

    assert reply.codes == ["GRAPHQL_PARSE_FAILED"]
