"""A subscription its client stops while an event is being resolved ends and releases what it held:
its bus subscriber (or shared-execution membership), its tasks, its Redis connections; a WebSocket
it ran on keeps answering. The client stops at each kind of Redis command resolving an invoice
event sends (the cache's reads, locks and fills), its stop reaching the gateway 0 to 3 loop turns
after the command was sent; over SSE (not shared: it asks with request extensions), and
graphql-transport-ws and the legacy graphql-ws (both shared). Redis has a 5 s timeout, so
commands are sent under ``asyncio.wait_for``, where Python 3.11 may consume a cancellation
(``cancel_support``). A subscription holds no Redis pub/sub of its own: the bus's one pattern
subscription per process serves every subscriber."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator
from typing import Any

import aiohttp
import pytest
import redis.asyncio as aioredis
from harness import ADMIN_HEADERS, GatewayServer, gateway_settings
from redis.asyncio.connection import AbstractConnection, Connection, ConnectionPool
from redis_support import prefixed
from subscription_support import BEARER, INVOICE_EVENTS, SandboxServerInfo, invoice_event, publisher, until_listening

TOPIC = "invoice:org-1"
RESOLVED = INVOICE_EVENTS.replace("occurredAt", "occurredAt invoice { id status }")
VARIABLES = {"org": "org-1"}
COMMANDS = ("MGET", "SET", "EVAL", "EVALSHA")
"""What resolving an invoice event sends; the client stops at the first of one of them."""
TURNS = (0, 1, 2, 3)
RELEASED_WITHIN_S = 5.0


class RedisWatch:
    """In the gateway's thread: the connections its pools lent (by command), and a stop run once
    from inside the sending of the first ``command`` after ``arm``, ``turns`` loop turns before the
    send returns."""

    def __init__(self, server: GatewayServer, monkeypatch: pytest.MonkeyPatch) -> None:
        self.server = server
        self.thread = server._thread
        self.lent: dict[AbstractConnection, str] = {}
        self.command = b""
        self.turns = 0
        self.stop: Callable[[], None] | None = None
        self._install(monkeypatch)

    def arm(self, command: str, turns: int, stop: Callable[[], None]) -> None:
        self.command, self.turns, self.stop = command.encode(), turns, stop

    def held(self) -> list[str]:
        """Commands of the resolution whose connections are lent out."""
        return [name for name in self.lent.values() if name in COMMANDS]

    def _install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        send, get, release = Connection._send_packed_command, ConnectionPool.get_connection, ConnectionPool.release

        async def sending(connection: Connection, packed: Iterable[bytes]) -> None:
            chunks = list(packed)
            await send(connection, chunks)
            if threading.current_thread() is not self.thread:
                return
            command = b"".join(chunks).split(b"\r\n", 3)[2].upper()
            if connection in self.lent:
                self.lent[connection] = command.decode()
            if self.stop is not None and command == self.command:
                stop, self.stop = self.stop, None
                stop()
                for _ in range(self.turns):
                    await asyncio.sleep(0)

        async def lend(pool: ConnectionPool, *args: Any, **options: Any) -> Any:
            connection = await get(pool, *args, **options)
            if threading.current_thread() is self.thread:
                self.lent[connection] = ""
            return connection

        async def give_back(pool: ConnectionPool, connection: AbstractConnection) -> None:
            self.lent.pop(connection, None)
            await release(pool, connection)

        monkeypatch.setattr(Connection, "_send_packed_command", sending)
        monkeypatch.setattr(ConnectionPool, "get_connection", lend)
        monkeypatch.setattr(ConnectionPool, "release", give_back)

    def tasks(self) -> int:
        """Tasks running on the gateway's loop."""

        async def count() -> int:
            return len(asyncio.all_tasks()) - 1

        return asyncio.run_coroutine_threadsafe(count(), self.server.loop).result(timeout=5)


class ClientStop:
    """The client's stop, asked for from the gateway's thread, which waits (blocked) until it was
    sent: the gateway sees it when its loop runs again."""

    def __init__(self, stop: Callable[[], Awaitable[None]]) -> None:
        self._stop = stop
        self._loop = asyncio.get_running_loop()
        self._asked = asyncio.Event()
        self._sent = threading.Event()

    def __call__(self) -> None:
        self._loop.call_soon_threadsafe(self._asked.set)
        assert self._sent.wait(timeout=RELEASED_WITHIN_S), "the client did not stop"
        time.sleep(0.05)  # its bytes reach the gateway's socket

    async def when_asked(self) -> None:
        await asyncio.wait_for(self._asked.wait(), RELEASED_WITHIN_S)
        try:
            await self._stop()
        finally:
            self._sent.set()


@pytest.fixture(scope="module")
async def redis(redis_url: str) -> AsyncIterator[tuple[str, str]]:
    """The URL and a key prefix of the gateway's Redis (where the tests publish)."""
    async with prefixed(aioredis.Redis.from_url(redis_url), redis_url) as prefix:
        yield redis_url, prefix


@pytest.fixture(scope="module")
def server(sandbox_server: SandboxServerInfo, redis: tuple[str, str]) -> Iterator[GatewayServer]:
    url, prefix = redis
    on_redis = {"url": url, "key_prefix": prefix, "socket_timeout_s": 5.0, "connect_timeout_s": 5.0}
    with GatewayServer(gateway_settings(sandbox_server, redis=on_redis, events={"block_s": 0.2})) as server:
        yield server


@pytest.fixture
def watch(server: GatewayServer, monkeypatch: pytest.MonkeyPatch) -> RedisWatch:
    return RedisWatch(server, monkeypatch)


async def until(what: str, done: Callable[[], bool]) -> None:
    deadline = time.monotonic() + RELEASED_WITHIN_S
    while not done():
        assert time.monotonic() < deadline, f"not released within {RELEASED_WITHIN_S} s: {what}"
        await asyncio.sleep(0.05)


async def stop_during_an_event(
    server: GatewayServer,
    watch: RedisWatch,
    redis: tuple[str, str],
    at: tuple[str, int],
    stop: ClientStop,
    *,
    shared: int,
) -> None:
    """Once subscribed (``shared``: as a member of a shared execution, or not), one event is
    published; the client stops at ``at`` (command, turns)."""
    async with aiohttp.ClientSession() as http:  # nothing cached: the event's resolution reads through Redis
        invalidated = await http.post(f"{server.url}/admin/cache/invalidate", json={"all": True}, headers=ADMIN_HEADERS)
        assert invalidated.status == 200
    await until_listening(server, TOPIC)
    assert server.app.state.schema.shared.members() == shared
    watch.arm(*at, stop)
    stopping = asyncio.create_task(stop.when_asked())
    async with publisher(*redis) as events:
        await events.handle(invoice_event(1))
    await stopping


async def released(server: GatewayServer, watch: RedisWatch, tasks_before: int) -> None:
    """No bus subscriber, shared member, Redis connection or task of the subscription is left."""
    fanout, shared = server.app.state.bus.fanout, server.app.state.schema.shared
    await until("the bus subscriber", lambda: not fanout.listens(TOPIC) and shared.members() == 0)
    await until("the Redis connections", lambda: not watch.held())
    await until("the tasks", lambda: watch.tasks() <= tasks_before)


STOPS = [pytest.param((command, turns), id=f"{command}-{turns}") for command in COMMANDS for turns in TURNS]
"""Where the client stops: at which command, how many loop turns after its send."""


@pytest.mark.parametrize("at", STOPS)
async def test_an_sse_stream_closed_by_its_client_releases_everything(
    server: GatewayServer, watch: RedisWatch, redis: tuple[str, str], at: tuple[str, int]
) -> None:
    body = {"query": RESOLVED, "variables": VARIABLES, "extensions": {"unshared": True}}  # extensions: not shared
    headers = {"accept": "text/event-stream", "authorization": BEARER}
    tasks_before = watch.tasks()
    async with aiohttp.ClientSession() as http:
        response = await http.post(f"{server.url}/graphql", json=body, headers=headers)
        assert response.status == 200

        async def close() -> None:
            response.close()

        await stop_during_an_event(server, watch, redis, at, ClientStop(close), shared=0)
    await released(server, watch, tasks_before)


async def frames_until(websocket: aiohttp.ClientWebSocketResponse, done: Callable[[dict[str, Any]], bool]) -> None:
    while not done(json.loads(await websocket.receive_str(timeout=RELEASED_WITHIN_S))):
        continue


@pytest.mark.parametrize("at", STOPS)
async def test_a_graphql_transport_ws_subscription_completed_by_its_client_releases_everything(
    server: GatewayServer, watch: RedisWatch, redis: tuple[str, str], at: tuple[str, int]
) -> None:
    async with (
        aiohttp.ClientSession() as http,
        http.ws_connect(f"{server.url}/graphql", protocols=("graphql-transport-ws",)) as websocket,
    ):
        await websocket.send_json({"type": "connection_init", "payload": {"Authorization": BEARER}})
        await frames_until(websocket, lambda frame: frame["type"] == "connection_ack")
        tasks_before = watch.tasks()
        await websocket.send_json(
            {"id": "1", "type": "subscribe", "payload": {"query": RESOLVED, "variables": VARIABLES}}
        )

        async def complete() -> None:
            await websocket.send_json({"id": "1", "type": "complete"})

        await stop_during_an_event(server, watch, redis, at, ClientStop(complete), shared=1)
        await released(server, watch, tasks_before)
        await websocket.send_json({"type": "ping"})
        await frames_until(websocket, lambda frame: frame["type"] == "pong")


@pytest.mark.parametrize("at", STOPS)
async def test_a_legacy_graphql_ws_subscription_stopped_by_its_client_releases_everything(
    server: GatewayServer, watch: RedisWatch, redis: tuple[str, str], at: tuple[str, int]
) -> None:
    async with (
        aiohttp.ClientSession() as http,
        http.ws_connect(f"{server.url}/graphql", protocols=("graphql-ws",)) as websocket,
    ):
        await websocket.send_json({"type": "connection_init", "payload": {"Authorization": BEARER}})
        await frames_until(websocket, lambda frame: frame["type"] == "connection_ack")
        tasks_before = watch.tasks()
        await websocket.send_json({"id": "1", "type": "start", "payload": {"query": RESOLVED, "variables": VARIABLES}})

        async def stop() -> None:
            await websocket.send_json({"id": "1", "type": "stop"})

        await stop_during_an_event(server, watch, redis, at, ClientStop(stop), shared=1)
        await released(server, watch, tasks_before)
        await websocket.send_json({"id": "2", "type": "start", "payload": {"query": "{ __typename }"}})
        await frames_until(websocket, lambda frame: frame.get("id") == "2")
