"""Identical reads in flight at the same moment share one upstream call (per upstream, opt-in).

Many clients asking for the same thing at once (a dashboard everyone opens at nine) would send
the upstream the same read many times over; with sharing on, the first caller's call is awaited
by the others, and its answer (or its error) is theirs too. Only reads are shared: a request is
keyed by everything that makes its answer (method, path and query, body, and the codec or
document it is parsed with), never by who asked, so an upstream must answer it the same for every
caller of the gateway (true of service credentials; not of per-user ones).

A write through the gateway ends the sharing of reads begun before it: a read asked for after the
write starts its own call. Each waiter keeps its own deadline; the shared call runs on under the
first caller's, and is not cancelled when one waiter gives up.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from functools import partial
from typing import Any, TypeVar

from clients.errors import DeadlineExceeded
from clients.resilience import deadline

T = TypeVar("T")


class SharedReads:
    def __init__(self, upstream: str, *, enabled: bool) -> None:
        self.upstream = upstream
        self.enabled = enabled
        self.shared = 0
        """Reads answered by another caller's call since start."""
        self._calls: dict[Hashable, asyncio.Future[Any]] = {}

    async def read(self, key: Hashable, call: Callable[[], Awaitable[T]]) -> T:
        """``call()``'s answer, from the call already in flight under ``key`` if there is one."""
        running = self._calls.get(key)
        if running is None:
            running = asyncio.ensure_future(call())
            self._calls[key] = running
            running.add_done_callback(partial(self._finished, key))
            return await asyncio.shield(running)
        self.shared += 1
        return await self._join(running)  # type: ignore[no-any-return]  # the call's own T

    async def _join(self, running: asyncio.Future[Any]) -> Any:
        left = deadline.remaining_s()
        if left is None:
            return await asyncio.shield(running)
        try:
            async with asyncio.timeout(max(left, 0.0)):
                return await asyncio.shield(running)
        except TimeoutError:
            raise DeadlineExceeded(
                "the request's deadline passed while it waited for a shared read", upstream=self.upstream
            ) from None

    def wrote(self) -> None:
        """A write went out: reads asked for from now on do not join those already in flight."""
        self._calls.clear()

    def _finished(self, key: Hashable, call: asyncio.Future[Any]) -> None:
        if self._calls.get(key) is call:
            del self._calls[key]
        if not call.cancelled():
            call.exception()  # every waiter got it through its shield; nothing is lost unseen
