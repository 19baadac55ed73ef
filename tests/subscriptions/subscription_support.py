"""Gateways with subscriptions over one real Redis, and a publisher that plays another replica."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import ExitStack, asynccontextmanager, contextmanager
from typing import Any

import aiohttp
import redis.asyncio as redis
from canary import CANARY_CALLER_TOKEN
from harness import GatewayServer, gateway_settings

from mobius.events.model import Event
from mobius.settings import Settings
from mobius.subscriptions.bus import RedisBus
from mobius.subscriptions.publish import PublishEvents
from sandbox import SandboxCredentials, SandboxUrls

SandboxServerInfo = tuple[SandboxUrls, SandboxCredentials]
BEARER = f"Bearer {CANARY_CALLER_TOKEN}"
INVOICE_EVENTS = """
subscription Invoices($org: ID!) {
  invoiceEvents(orgId: $org) { id type invoiceId orgId version status occurredAt }
}"""


def webhook_settings(sandbox_server: SandboxServerInfo, redis_url: str | None, prefix: str = "") -> Settings:
    """The test gateway, whose settings accept the sandbox's signed webhooks, on a shared Redis or
    (``redis_url`` None) everything in-process as in ``mobius demo``; the worker polls briskly."""
    shared = {} if redis_url is None else {"redis": {"url": redis_url, "key_prefix": prefix}}
    return gateway_settings(sandbox_server, events={"block_s": 0.2}, **shared)


async def point_webhooks_at(http: aiohttp.ClientSession, upstream_url: str, target: str) -> None:
    """The sandbox upstream sends its webhooks to the gateway at ``target``."""
    async with http.post(f"{upstream_url}/_sandbox/webhooks", json={"target": target}) as response:
        assert response.status == 200, await response.text()


async def delivered(http: aiohttp.ClientSession, upstream_url: str) -> list[tuple[str, str]]:
    """(type, outcome) of the upstream's recent webhook deliveries."""
    async with http.get(f"{upstream_url}/_sandbox/webhooks") as response:
        return [(one["type"], one["outcome"]) for one in (await response.json())["deliveries"]]


def subscription_settings(sandbox_server: SandboxServerInfo, redis_url: str, prefix: str, **subscriptions: Any) -> Any:
    return gateway_settings(sandbox_server, redis={"url": redis_url, "key_prefix": prefix}, subscriptions=subscriptions)


@contextmanager
def serving(
    sandbox_server: SandboxServerInfo, redis_url: str, prefix: str, count: int, **options: Any
) -> Iterator[list[GatewayServer]]:
    """``count`` gateways sharing one Redis, each with its own bus (as replicas are)."""
    with ExitStack() as stack:
        settings = subscription_settings(sandbox_server, redis_url, prefix, **options)
        yield [stack.enter_context(GatewayServer(settings)) for _ in range(count)]


LARGE_ID_BYTES = 4096
"""An invoice id for the slow-subscriber tests: an event of some 8 KB instead of 200 bytes."""


def invoice_event(number: int, org_id: str = "org-1", status: str = "paid", *, id_bytes: int = 0) -> Event:
    """Invoice ``in-<number>``'s event; ``id_bytes`` pads the invoice's id to that length (large events
    fill a stalled subscriber's socket buffers in a few hundred events, not some fifteen thousand)."""
    return Event(
        id=f"evt-{number}",
        source="billing",
        type=f"invoice.{status}",
        entity_type="invoice",
        entity_id=f"in-{number}".ljust(id_bytes, "0"),
        version=number,
        occurred_at=1_700_000_000.0 + number,
        data={"org_id": org_id, "status": status},
    )


async def until_listening(server: GatewayServer, topic: str, subscribers: int = 1) -> None:
    """Wait until ``server`` has ``subscribers`` for ``topic`` (pub/sub delivers only to those
    already listening): on the bus, or sharing an execution that listens there."""
    fanout = server.app.state.bus.fanout
    shared = server.app.state.schema.shared
    deadline = time.monotonic() + 10
    while (
        not fanout.listens(topic) or len(fanout._topics[topic]) - len(shared._groups) + shared.members() < subscribers
    ):
        assert time.monotonic() < deadline, f"nobody subscribed to {topic}"
        await asyncio.sleep(0.01)


@asynccontextmanager
async def publisher(redis_url: str, prefix: str) -> AsyncIterator[PublishEvents]:
    """``PublishEvents`` on a bus of its own: events published as another replica would."""
    bus = RedisBus(redis.Redis.from_url(redis_url), redis.Redis.from_url(redis_url), key_prefix=prefix, buffer=1)
    try:
        yield PublishEvents(bus)
    finally:
        await bus.publisher.aclose()
        await bus.subscriber.aclose()


def stalled_subscriber(port: int) -> socket.socket:
    """A graphql-transport-ws client on a raw socket with a tiny receive buffer that, once
    subscribed to org-1's invoice events, stops reading."""
    raw = socket.socket()
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    raw.connect(("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)).decode()
    raw.sendall(
        (
            "GET /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
            "Sec-WebSocket-Protocol: graphql-transport-ws\r\n\r\n"
        ).encode()
    )
    _read_until(raw, b"\r\n\r\n")
    raw.sendall(_frame(json.dumps({"type": "connection_init", "payload": {"Authorization": BEARER}}).encode()))
    _read_frame(raw)  # connection_ack
    subscribe = {"id": "slow", "type": "subscribe", "payload": {"query": INVOICE_EVENTS, "variables": {"org": "org-1"}}}
    raw.sendall(_frame(json.dumps(subscribe).encode()))
    return raw


def stalled_sse_subscriber(port: int) -> socket.socket:
    """An SSE request for org-1's invoice events on a raw socket with a tiny receive buffer, never read."""
    raw = socket.socket()
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    raw.connect(("127.0.0.1", port))
    body = json.dumps({"query": INVOICE_EVENTS, "variables": {"org": "org-1"}}).encode()
    raw.sendall(
        (
            "POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n"
            f"Authorization: {BEARER}\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode()
        + body
    )
    return raw


def read_to_end(raw: socket.socket) -> bytes:
    """The last 64 KiB the server sent before it ended the response (chunked: ends with 0 CRLF CRLF)."""
    raw.settimeout(20)
    tail = b""
    try:
        while not tail.endswith(b"0\r\n\r\n"):
            chunk = raw.recv(65536)
            if not chunk:
                break
            tail = (tail + chunk)[-65536:]
    finally:
        raw.close()
    return _unchunk(tail)


def _unchunk(tail: bytes) -> bytes:
    """The event text of the last chunks (chunk size lines dropped)."""
    return b"".join(line for line in tail.split(b"\r\n") if not _is_hex(line))


def _is_hex(line: bytes) -> bool:
    return bool(line) and all(char in b"0123456789abcdefABCDEF" for char in line)


def close_code(raw: socket.socket) -> int | None:
    """Read everything the server sent; the close frame's code, if one came."""
    raw.settimeout(20)
    try:
        while True:
            opcode, payload = _read_frame(raw)
            if opcode == 0x8:
                return int.from_bytes(payload[:2], "big")
    finally:
        raw.close()


def _frame(payload: bytes) -> bytes:
    mask = os.urandom(4)
    header = bytes([0x81])
    length = len(payload)
    if length < 126:
        header += bytes([0x80 | length])
    else:
        header += bytes([0x80 | 126]) + length.to_bytes(2, "big")
    return header + mask + bytes(byte ^ mask[index % 4] for index, byte in enumerate(payload))


def _read_until(raw: socket.socket, marker: bytes) -> bytes:
    data = b""
    while marker not in data:
        chunk = raw.recv(1)
        assert chunk, "the server closed the connection"
        data += chunk
    return data


def _read_exactly(raw: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = raw.recv(size - len(data))
        assert chunk, "the server closed the connection"
        data += chunk
    return data


def _read_frame(raw: socket.socket) -> tuple[int, bytes]:
    first, second = _read_exactly(raw, 2)
    length = second & 0x7F
    if length == 126:
        length = int.from_bytes(_read_exactly(raw, 2), "big")
    elif length == 127:
        length = int.from_bytes(_read_exactly(raw, 8), "big")
    return first & 0x0F, _read_exactly(raw, length)
