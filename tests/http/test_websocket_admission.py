"""The WebSocket upgrade at ``/graphql`` passes the admission step too: a credential that names
nobody or a page of an origin not allowed is refused at the handshake, and operations over the
socket are parsed and validated like those over HTTP (production posture included)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import aiohttp
import pytest
from canary import CANARY_CALLER_TOKEN
from harness import GatewayServer
from http_support import SandboxServerInfo, serving, settings_for

PROTOCOL = "graphql-transport-ws"


async def run_over_websocket(
    url: str,
    http: aiohttp.ClientSession,
    query: str,
    headers: dict[str, str] | None = None,
    variables: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One operation over graphql-transport-ws: the first message answering it (or how the server
    closed the socket)."""
    async with http.ws_connect(f"{url}/graphql", protocols=(PROTOCOL,), headers=headers or {}) as socket:
        await socket.send_json({"type": "connection_init"})
        assert (await socket.receive_json(timeout=5))["type"] == "connection_ack"
        payload = {"query": query} if variables is None else {"query": query, "variables": variables}
        await socket.send_json({"id": "1", "type": "subscribe", "payload": payload})
        message = await socket.receive(timeout=5)
        if message.type is aiohttp.WSMsgType.CLOSE:
            return {"closed": message.data, "reason": message.extra}
        answer: dict[str, Any] = message.json()
        return answer


async def test_an_operation_runs_over_the_socket_with_the_admitted_caller(
    gateway_server: GatewayServer, http: aiohttp.ClientSession
) -> None:
    anonymous = await run_over_websocket(gateway_server.url, http, "{ viewer { id } }")
    admin = await run_over_websocket(
        gateway_server.url, http, "{ viewer { id } }", headers={"Authorization": f"Bearer {CANARY_CALLER_TOKEN}"}
    )

    assert anonymous == {"id": "1", "type": "next", "payload": {"data": {"viewer": None}}}
    assert admin == {"id": "1", "type": "next", "payload": {"data": {"viewer": {"id": "user-1"}}}}


async def test_a_handshake_with_a_credential_that_names_nobody_is_401(
    gateway_server: GatewayServer, http: aiohttp.ClientSession
) -> None:
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await run_over_websocket(gateway_server.url, http, "{ __typename }", headers={"Authorization": "Bearer nope"})

    assert refused.value.status == 401


async def test_a_page_of_another_origin_may_not_open_a_socket(
    gateway_server: GatewayServer, http: aiohttp.ClientSession
) -> None:
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await run_over_websocket(gateway_server.url, http, "{ __typename }", headers={"Origin": "https://evil.example"})
    same_origin = await run_over_websocket(
        gateway_server.url, http, "{ __typename }", headers={"Origin": gateway_server.url}
    )

    assert refused.value.status == 403
    assert same_origin["payload"] == {"data": {"__typename": "Query"}}


@pytest.fixture(scope="module")
def production(sandbox_server: SandboxServerInfo) -> Iterator[GatewayServer]:
    with serving(settings_for(sandbox_server, environment="production", auth={})) as server:
        yield server


async def test_operations_over_the_socket_are_validated_like_http_ones(
    production: GatewayServer, http: aiohttp.ClientSession
) -> None:
    introspection = await run_over_websocket(production.url, http, "{ __schema { queryType { name } } }")
    broken = await run_over_websocket(production.url, http, "{")

    assert introspection["type"] == "error"
    assert "introspection has been disabled" in introspection["payload"][0]["message"]
    assert broken["closed"] == 4400, "graphql-transport-ws closes on a document that does not parse"
    assert broken["reason"].startswith("Syntax Error")


async def test_a_cost_sized_by_variables_is_checked_over_the_socket_too(
    gateway_server: GatewayServer, http: aiohttp.ClientSession
) -> None:
    query = """query Members($ids: [ID!]!, $first: Int!) {
      users(ids: $ids) { organization { members(first: $first) { nodes { organization { name } } } } }
    }"""
    ids = [f"user-{i}" for i in range(1, 301)]
    refused = await run_over_websocket(gateway_server.url, http, query, variables={"ids": ids, "first": 100})
    allowed = await run_over_websocket(gateway_server.url, http, query, variables={"ids": ["user-1"], "first": 1})

    assert refused["type"] == "error"
    assert refused["payload"][0]["extensions"]["limit"] == "cost"
    assert allowed["type"] == "next"
    assert len(allowed["payload"]["data"]["users"][0]["organization"]["members"]["nodes"]) == 1
