"""Subscriptions over WebSocket, as real clients use them: Python gql's websockets transport
(graphql-transport-ws, TEXT frames), the legacy graphql-ws protocol, callers named in
``connectionParams``, events published on one replica reaching subscribers on another, and a
slow subscriber dropped with close code 4413 while the others keep receiving."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest
from gql import Client, GraphQLRequest
from gql.transport.exceptions import TransportQueryError, TransportServerError
from gql.transport.websockets import WebsocketsTransport
from subscription_support import (
    BEARER,
    INVOICE_EVENTS,
    LARGE_ID_BYTES,
    SandboxServerInfo,
    close_code,
    invoice_event,
    publisher,
    serving,
    stalled_subscriber,
    until_listening,
)

from mobius.subscriptions.bus import DROPS

TOPIC = "invoice:org-1"


def ws_url(http_url: str) -> str:
    return http_url.replace("http://", "ws://") + "/graphql"


async def collect(url: str, params: dict[str, Any], wanted: int, query: str = INVOICE_EVENTS) -> list[dict[str, Any]]:
    transport = WebsocketsTransport(url=url, init_payload=params)
    received = []
    async with Client(transport=transport) as session:
        async for result in session.subscribe(GraphQLRequest(query, variable_values={"org": "org-1"})):
            received.append(result["invoiceEvents"])
            if len(received) == wanted:
                break
    return received


async def test_gql_subscribes_over_graphql_transport_ws_and_receives_events_from_another_replica(
    sandbox_server: SandboxServerInfo, redis_url: str, redis_prefix: str
) -> None:
    with serving(sandbox_server, redis_url, redis_prefix, 2) as (first, second):
        listening = [
            asyncio.create_task(collect(ws_url(server.url), {"Authorization": BEARER}, 2)) for server in (first, second)
        ]
        await until_listening(first, TOPIC)
        await until_listening(second, TOPIC)
        async with publisher(redis_url, redis_prefix) as publish:
            await publish.handle(invoice_event(1))
            await publish.handle(invoice_event(2, org_id="org-2"))  # another organization's: not delivered
            await publish.handle(invoice_event(3, status="payment_failed"))
        on_first, on_second = await asyncio.wait_for(asyncio.gather(*listening), 10)

    expected = [
        {
            "id": "evt-1",
            "type": "invoice.paid",
            "invoiceId": "in-1",
            "orgId": "org-1",
            "version": 1,
            "status": "PAID",
            "occurredAt": "2023-11-14T22:13:21+00:00",
        },
        {
            "id": "evt-3",
            "type": "invoice.payment_failed",
            "invoiceId": "in-3",
            "orgId": "org-1",
            "version": 3,
            "status": "PAYMENT_FAILED",
            "occurredAt": "2023-11-14T22:13:23+00:00",
        },
    ]
    assert on_first == expected
    assert on_second == expected


async def test_a_subscriber_without_the_scope_is_refused_and_nothing_is_subscribed(
    sandbox_server: SandboxServerInfo, redis_url: str, redis_prefix: str, sandbox: Any
) -> None:
    no_scope = await sandbox.mint_token(sub="user-2", scopes=["issues:read"], ttl_s=600)
    with serving(sandbox_server, redis_url, redis_prefix, 1) as (server,):
        with pytest.raises(TransportQueryError) as anonymous:
            await asyncio.wait_for(collect(ws_url(server.url), {}, 1), 10)
        with pytest.raises(TransportQueryError) as forbidden:
            await asyncio.wait_for(collect(ws_url(server.url), {"Authorization": f"Bearer {no_scope}"}, 1), 10)
        listening = server.app.state.bus.fanout.listens(TOPIC)

    assert anonymous.value.errors[0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert forbidden.value.errors[0]["extensions"]["code"] == "FORBIDDEN"
    assert "billing:read" in forbidden.value.errors[0]["message"]
    assert not listening


async def test_a_credential_in_connection_params_that_names_nobody_closes_with_4403(
    sandbox_server: SandboxServerInfo, redis_url: str, redis_prefix: str, http: aiohttp.ClientSession
) -> None:
    with serving(sandbox_server, redis_url, redis_prefix, 1) as (server,):
        async with http.ws_connect(f"{server.url}/graphql", protocols=("graphql-transport-ws",)) as socket_:
            await socket_.send_json({"type": "connection_init", "payload": {"Authorization": "Bearer nobody"}})
            closed = await socket_.receive(timeout=5)
        with pytest.raises(TransportServerError):
            await asyncio.wait_for(collect(ws_url(server.url), {"authorization": "Bearer nobody"}, 1), 10)

    assert closed.type is aiohttp.WSMsgType.CLOSE
    assert closed.data == 4403


async def test_every_message_is_a_text_frame_and_the_server_pings(
    sandbox_server: SandboxServerInfo, redis_url: str, redis_prefix: str, http: aiohttp.ClientSession
) -> None:
    with serving(sandbox_server, redis_url, redis_prefix, 1, heartbeat_s=0.2) as (server,):
        async with http.ws_connect(f"{server.url}/graphql", protocols=("graphql-transport-ws",)) as socket_:
            await socket_.send_json({"type": "connection_init", "payload": {"Authorization": BEARER}})
            ack = await socket_.receive(timeout=5)
            ping = await socket_.receive(timeout=5)

    assert ack.type is aiohttp.WSMsgType.TEXT
    assert ack.json() == {"type": "connection_ack"}
    assert ping.type is aiohttp.WSMsgType.TEXT
    assert ping.json() == {"type": "ping"}


async def test_the_legacy_graphql_ws_protocol_subscribes_with_connection_params(
    sandbox_server: SandboxServerInfo, redis_url: str, redis_prefix: str, http: aiohttp.ClientSession
) -> None:
    with serving(sandbox_server, redis_url, redis_prefix, 1) as (server,):
        async with http.ws_connect(f"{server.url}/graphql", protocols=("graphql-ws",)) as socket_:
            await socket_.send_json({"type": "connection_init", "payload": {"authorization": BEARER}})
            ack = await socket_.receive_json(timeout=5)
            query = {"query": INVOICE_EVENTS, "variables": {"org": "org-1"}}
            await socket_.send_json({"id": "s1", "type": "start", "payload": query})
            await until_listening(server, TOPIC)
            async with publisher(redis_url, redis_prefix) as publish:
                await publish.handle(invoice_event(7))
            data = await _next_data(socket_)
        async with http.ws_connect(f"{server.url}/graphql", protocols=("graphql-ws",)) as refused:
            await refused.send_json({"type": "connection_init", "payload": {"authorization": "Bearer nobody"}})
            error = await refused.receive_json(timeout=5)
            closed = await refused.receive(timeout=5)

    assert ack == {"type": "connection_ack"}
    assert data == {"id": "s1", "type": "data", "payload": {"data": {"invoiceEvents": _legacy_expected(7)}}}
    assert error["type"] == "connection_error"
    assert closed.data == 4403


async def _next_data(socket_: aiohttp.ClientWebSocketResponse) -> dict[str, Any]:
    while True:
        message: dict[str, Any] = await socket_.receive_json(timeout=5)
        if message["type"] != "ka":
            return message


def _legacy_expected(number: int) -> dict[str, Any]:
    return {
        "id": f"evt-{number}",
        "type": "invoice.paid",
        "invoiceId": f"in-{number}",
        "orgId": "org-1",
        "version": number,
        "status": "PAID",
        "occurredAt": f"2023-11-14T22:13:{20 + number:02d}+00:00",
    }


async def test_a_slow_subscriber_is_closed_with_4413_and_the_others_keep_receiving(
    sandbox_server: SandboxServerInfo, redis_url: str, redis_prefix: str
) -> None:
    """The slow client never reads: once the socket buffers are full its 512-event buffer
    overflows, and it (only it) is dropped. Events come in bursts of 128, which a subscriber that
    reads keeps up with."""
    with serving(sandbox_server, redis_url, redis_prefix, 1, buffer=512) as (server,):
        slow = await asyncio.to_thread(stalled_subscriber, server.port)
        await until_listening(server, TOPIC)
        drops = DROPS._value.get()
        fast = asyncio.create_task(collect(ws_url(server.url), {"Authorization": BEARER}, 10**9))
        await until_listening(server, TOPIC, subscribers=2)
        published = 0
        async with publisher(redis_url, redis_prefix) as publish:
            while DROPS._value.get() == drops:
                assert published < 200_000, "the stalled subscriber was never dropped"
                for _ in range(128):
                    published += 1
                    await publish.handle(invoice_event(published, id_bytes=LARGE_ID_BYTES))
                await asyncio.sleep(0.03)
            await publish.handle(invoice_event(published + 1))
        code = await asyncio.to_thread(close_code, slow)
        still_listening = len(server.app.state.bus.fanout._topics.get(TOPIC, ()))
        fast.cancel()

    assert code == 4413
    assert DROPS._value.get() == drops + 1
    assert still_listening == 1  # the fast subscriber


async def test_a_query_over_the_legacy_protocol_is_a_coded_request_error_not_an_internal_one(
    sandbox_server: SandboxServerInfo, redis_url: str, redis_prefix: str, http: aiohttp.ClientSession
) -> None:
    """The legacy protocol runs subscriptions only; a query sent over it is the client's mistake."""
    with serving(sandbox_server, redis_url, redis_prefix, 1) as (server,):
        async with http.ws_connect(f"{server.url}/graphql", protocols=("graphql-ws",)) as socket_:
            await socket_.send_json({"type": "connection_init", "payload": {"authorization": BEARER}})
            await socket_.receive_json(timeout=5)
            await socket_.send_json({"id": "q1", "type": "start", "payload": {"query": "{ __typename }"}})
            answer = await _next_data(socket_)

    assert answer["type"] == "error"
    assert answer["id"] == "q1"
    assert answer["payload"]["extensions"] == {"code": "BAD_REQUEST"}
    assert answer["payload"]["message"] == "queries are not allowed"
