"""Subscribers whose results cannot differ share one execution per event: the same document,
variables and authorization outcome. Counted with ``mobius_subscription_executions``; callers
whose scopes the selection tells apart get results of their own."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
import pytest
from gql.transport.exceptions import TransportQueryError
from graphql import get_operation_ast, parse
from harness import Sandbox
from subscription_support import (
    BEARER,
    INVOICE_EVENTS,
    SandboxServerInfo,
    invoice_event,
    publisher,
    serving,
    until_listening,
)
from test_sse_and_reference_client import read_events
from test_websocket_subscriptions import collect, ws_url

from mobius.subscriptions.shared import EXECUTIONS
from schema.context import Caller
from schema.root import build_schema
from schema.sharing import sharing_key

TOPIC = "invoice:org-1"
WITH_MEMBERS = """
subscription Invoices($org: ID!) {
  invoiceEvents(orgId: $org) { id organization { members(first: 2) { nodes { id email } } } }
}"""


def executions() -> float:
    return float(EXECUTIONS._value.get())


async def test_subscribers_of_the_same_document_get_the_same_events_from_one_execution(
    sandbox_server: SandboxServerInfo, redis_url: str, redis_prefix: str, http: aiohttp.ClientSession
) -> None:
    """Two graphql-transport-ws subscribers and one over SSE: three events executed three times."""
    body = {"query": INVOICE_EVENTS, "variables": {"org": "org-1"}}
    headers = {"Accept": "text/event-stream", "Authorization": BEARER}
    with serving(sandbox_server, redis_url, redis_prefix, 1) as (server,):
        sockets = [asyncio.create_task(collect(ws_url(server.url), {"Authorization": BEARER}, 3)) for _ in range(2)]
        async with http.post(f"{server.url}/graphql", json=body, headers=headers) as response:
            await until_listening(server, TOPIC, subscribers=3)
            before = executions()
            async with publisher(redis_url, redis_prefix) as publish:
                for number in (1, 2, 3):
                    await publish.handle(invoice_event(number))
            received = await asyncio.wait_for(asyncio.gather(*sockets), 10)
            streamed = await asyncio.wait_for(read_events(response, nexts=3), 10)
        ran = executions() - before

    assert [event["id"] for event in received[0]] == ["evt-1", "evt-2", "evt-3"]
    assert received[0] == received[1]
    assert [json.loads(data)["data"]["invoiceEvents"] for _, data in streamed.events] == received[0]
    assert ran == 3


async def test_callers_whose_scopes_the_selection_tells_apart_get_their_own_results(
    sandbox_server: SandboxServerInfo, sandbox: Sandbox, redis_url: str, redis_prefix: str
) -> None:
    """The admin and a token with the same selected scopes (and one more the selection does not
    name) share; a token without ``pii:read`` gets the emails nulled; one without
    ``billing:read`` is refused."""
    with_pii = await sandbox.mint_token(sub="user-7", scopes=["billing:read", "pii:read", "tickets:read"])
    without_pii = await sandbox.mint_token(sub="user-8", scopes=["billing:read"])
    without_billing = await sandbox.mint_token(sub="user-9", scopes=["tickets:read"])
    with serving(sandbox_server, redis_url, redis_prefix, 1) as (server,):
        url = ws_url(server.url)
        admin, shared, nulled = (
            asyncio.create_task(collect(url, {"Authorization": authorization}, 1, WITH_MEMBERS))
            for authorization in (BEARER, f"Bearer {with_pii}", f"Bearer {without_pii}")
        )
        await until_listening(server, TOPIC, subscribers=3)
        with pytest.raises(TransportQueryError) as refused:
            await collect(url, {"Authorization": f"Bearer {without_billing}"}, 1, WITH_MEMBERS)
        before = executions()
        async with publisher(redis_url, redis_prefix) as publish:
            await publish.handle(invoice_event(1))
        results = await asyncio.wait_for(asyncio.gather(admin, shared, nulled, return_exceptions=True), 10)
        ran = executions() - before

    admins, shareds, nulleds = results
    assert isinstance(nulleds, TransportQueryError)  # gql raises on a next with errors
    nulled_payload: Any = nulleds.data
    members = nulled_payload["invoiceEvents"]["organization"]["members"]["nodes"]
    assert members
    assert all(member["email"] is None for member in members)
    assert [error["extensions"]["code"] for error in nulleds.errors or []] == ["FORBIDDEN"] * len(members)
    assert isinstance(admins, list)
    assert admins == shareds
    assert all("@" in member["email"] for member in admins[0]["organization"]["members"]["nodes"])
    assert refused.value.errors is not None
    assert refused.value.errors[0]["extensions"]["code"] == "FORBIDDEN"
    assert ran == 2


def test_the_sharing_key_tells_apart_only_what_can_change_a_result() -> None:
    schema = build_schema()._schema
    admin = Caller(name="a", scopes=frozenset({"billing:read", "pii:read", "users:write"}), authenticated=True)
    reader = Caller(name="b", scopes=frozenset({"billing:read", "pii:read"}), user_id="user-2", authenticated=True)
    no_pii = Caller(name="c", scopes=frozenset({"billing:read"}), authenticated=True)
    variables = {"org": "org-1"}

    def key(query: str, caller: Caller, values: dict[str, object] = variables) -> object:
        document = parse(query)
        operation = get_operation_ast(document)
        assert operation is not None
        return sharing_key(schema, document, operation, values, caller)

    assert key(WITH_MEMBERS, admin) == key(WITH_MEMBERS, reader) is not None
    assert key(WITH_MEMBERS, admin) != key(WITH_MEMBERS, no_pii)
    assert key(INVOICE_EVENTS, admin) == key(INVOICE_EVENTS, no_pii)
    assert key(INVOICE_EVENTS, admin) != key(INVOICE_EVENTS, admin, {"org": "org-2"})
    assert key("{ viewer { id } }", admin) is None
    assert key("subscription  Invoices($org: ID!) { invoiceEvents(orgId: $org) { id } }", admin) == key(
        "subscription Invoices($org: ID!) {\n  invoiceEvents(orgId: $org) {\n    id # a comment\n  }\n}", no_pii
    )


async def test_a_refused_subscription_is_still_an_error_message_and_nothing_is_shared(
    sandbox_server: SandboxServerInfo, sandbox: Sandbox, redis_url: str, redis_prefix: str, http: aiohttp.ClientSession
) -> None:
    without_billing = await sandbox.mint_token(sub="user-9", scopes=["tickets:read"])
    with serving(sandbox_server, redis_url, redis_prefix, 1) as (server,):
        async with http.ws_connect(f"{server.url}/graphql", protocols=("graphql-transport-ws",)) as socket_:
            await socket_.send_json(
                {"type": "connection_init", "payload": {"Authorization": f"Bearer {without_billing}"}}
            )
            assert (await socket_.receive_json(timeout=5))["type"] == "connection_ack"
            for number in (1, 2):
                query = {"query": INVOICE_EVENTS, "variables": {"org": "org-1"}}
                await socket_.send_json({"id": f"s{number}", "type": "subscribe", "payload": query})
                answer = await socket_.receive_json(timeout=5)
                assert answer["type"] == "error"
                assert answer["id"] == f"s{number}"
                assert answer["payload"][0]["extensions"]["code"] == "FORBIDDEN"
        members = server.app.state.schema.shared.members()
        listening = server.app.state.bus.fanout.listens(TOPIC)

    assert members == 0
    assert not listening
