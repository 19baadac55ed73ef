"""Helpers for cache tests: a counting upstream function and a TCP stand-in for Redis outages."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from clients.errors import UpstreamError
from resolvers.loaders import declared_cache_types


class Upstream:
    """A batch function over a dict, recording every batch it is asked for (what went upstream)."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        self.data = dict(data)
        self.batches: list[list[str]] = []
        self.failure: UpstreamError | None = None
        self.gate: asyncio.Event | None = None
        self.called = asyncio.Event()

    async def __call__(self, keys: Sequence[str]) -> list[Any]:
        self.batches.append(list(keys))
        self.called.set()
        if self.gate is not None:
            await self.gate.wait()
        if self.failure is not None:
            return [self.failure for _ in keys]
        return [self.data.get(key) for key in keys]


class RedisStandIn:
    """A TCP server in front of the real Redis: ``forward`` passes bytes through, ``stall`` accepts
    connections and never answers (a hung Redis), closing it refuses connections. ``sent`` counts
    the bytes clients sent to Redis."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.sent = 0
        self.mode = "forward"
        self.port = 0
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def __aenter__(self) -> RedisStandIn:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *_: object) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, OSError):
                await task

    def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.ensure_future(self._connection(reader, writer))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            if self.mode == "stall":
                await asyncio.Event().wait()
            upstream_reader, upstream_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
            try:
                await asyncio.gather(_pipe(reader, upstream_writer, self._count), _pipe(upstream_reader, writer))
            finally:
                upstream_writer.close()
        finally:
            writer.close()

    def _count(self, size: int) -> None:
        self.sent += size


async def _pipe(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, count: Callable[[int], None] | None = None
) -> None:
    with contextlib.suppress(ConnectionError):
        while data := await reader.read(65536):
            if count is not None:
                count(len(data))
            writer.write(data)
            await writer.drain()
    with contextlib.suppress(OSError, RuntimeError):
        writer.write_eof()


CACHE_TYPES = declared_cache_types()
"""Every declared read's cache type, as the default vendors serve them."""
_BY_NAME = {ctype.name: ctype for ctype in CACHE_TYPES}
USERS = _BY_NAME["users"]
MEMBERS = _BY_NAME["members"]
CUSTOMERS = _BY_NAME["customers"]
SUBSCRIPTIONS = _BY_NAME["subscriptions"]
INVOICES = _BY_NAME["invoices"]
PROJECTS = _BY_NAME["projects"]
ISSUES = _BY_NAME["issues"]
