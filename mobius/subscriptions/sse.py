"""GraphQL over Server-Sent Events, distinct-connections mode: a request admitted with
``Accept: text/event-stream`` is answered ``200 text/event-stream`` with one ``event: next`` per
result and a final ``event: complete``; a comment line every ``heartbeat_s`` keeps proxies from
closing a quiet stream. The stream ends when the operation does, when the client goes away, when
its subscriber falls more than ``subscriptions.buffer`` events behind (a last ``next`` carries a
``SUBSCRIBER_TOO_SLOW`` error), or when the server stops (``EventStreams.close``: the stream ends
without ``complete``, so the client may reconnect to another replica)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from typing import Any

import orjson
import structlog
from starlette.types import Receive, Send
from strawberry.types.execution import ExecutionResult

from mobius.admission import Admitted, Operation
from mobius.context import RequestContexts
from mobius.subscriptions.shared import SharedResult, payload_of
from schema.root import MobiusSchema

log = structlog.get_logger("mobius.subscriptions")

HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),  # proxies that buffer responses must pass this one through
]
HEARTBEAT = b":\n\n"
COMPLETE = b"event: complete\ndata:\n\n"
TOO_SLOW = {
    "errors": [
        {
            "message": "the subscriber fell too far behind and was dropped",
            "extensions": {"code": "SUBSCRIBER_TOO_SLOW"},
        }
    ]
}

INTERNAL = {"errors": [{"message": "Internal error.", "extensions": {"code": "INTERNAL_SERVER_ERROR"}}]}


def next_event(payload: Mapping[str, object]) -> bytes:
    return b"event: next\ndata: " + orjson.dumps(payload) + b"\n\n"


def _event(result: object) -> bytes:
    if isinstance(result, SharedResult):
        return b"event: next\ndata: " + result.payload + b"\n\n"
    if not isinstance(result, ExecutionResult):
        return next_event({"errors": [{"message": "incremental delivery is not supported over this stream"}]})
    return next_event(payload_of(result))


class EventStreams:
    def __init__(self, schema: MobiusSchema, contexts: RequestContexts, *, heartbeat_s: float) -> None:
        self.schema = schema
        self.contexts = contexts
        self.heartbeat_s = heartbeat_s
        self._closed = False
        self._closing: set[asyncio.Future[None]] = set()

    def close(self) -> None:
        """End every open stream, and any opened from now on, without a ``complete`` event."""
        self._closed = True
        for closing in self._closing:
            if not closing.done():
                closing.set_result(None)

    async def answer(self, admitted: Admitted, receive: Receive, send: Send) -> None:
        operation = admitted.requests
        assert isinstance(operation, Operation)  # admission never streams a batch
        context = self.contexts.new(admitted.caller)
        dropped = asyncio.Event()
        context.on_overflow = dropped.set
        lock = asyncio.Lock()

        async def write(chunk: bytes) -> None:
            async with lock:
                await send({"type": "http.response.body", "body": chunk, "more_body": True})

        async def results() -> None:
            stream = await self.schema.stream(
                operation.query,
                variable_values=operation.variables,
                context_value=context,
                operation_name=operation.operation_name,
                operation_extensions=operation.extensions,
            )
            try:
                async for result in stream:
                    await write(_event(result))
            finally:
                await stream.aclose()

        async def heartbeat() -> None:
            while True:
                await asyncio.sleep(self.heartbeat_s)
                await write(HEARTBEAT)

        await send({"type": "http.response.start", "status": 200, "headers": [*HEADERS, *admitted.headers]})
        closing: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if self._closed:
            closing.set_result(None)
        self._closing.add(closing)
        tasks = [
            asyncio.create_task(results()),
            asyncio.create_task(_disconnected(receive)),
            asyncio.create_task(dropped.wait()),
            asyncio.create_task(heartbeat()),
        ]
        producing, gone = tasks[0], tasks[1]
        waited: list[asyncio.Future[Any]] = [*tasks, closing]
        try:
            await asyncio.wait(waited, return_when=asyncio.FIRST_COMPLETED)
        finally:
            self._closing.discard(closing)
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        if gone.done() and not gone.cancelled():
            return
        if closing.done():
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            return
        if dropped.is_set():
            await write(next_event(TOO_SLOW))
        elif producing.done() and not producing.cancelled() and producing.exception() is not None:
            log.error("event_stream_failed", exc_info=producing.exception())
            await write(next_event(INTERNAL))
        await send({"type": "http.response.body", "body": COMPLETE, "more_body": False})


async def _disconnected(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        continue
