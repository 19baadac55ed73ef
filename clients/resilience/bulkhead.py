"""A bulkhead: at most ``max_concurrent`` calls in flight to one upstream, a short FIFO queue,
and overflow rejected at once (``BulkheadFull``) rather than piling up behind a slow upstream."""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass
from types import TracebackType

from clients.errors import BulkheadFull
from clients.instruments import UpstreamInstruments


@dataclass(frozen=True, kw_only=True)
class BulkheadPolicy:
    max_concurrent: int = 100
    max_queue: int = 100
    max_wait_s: float = 0.5
    """How long a queued call waits for a slot (further bounded by the request's deadline)."""


class Bulkhead:
    def __init__(self, *, upstream: str, policy: BulkheadPolicy) -> None:
        self.upstream = upstream
        self.policy = policy
        self._active = 0
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._metrics = UpstreamInstruments(upstream)
        self._counted = self._metrics.in_flight(lambda: self._active)

    @property
    def in_flight(self) -> int:
        return self._active

    @property
    def queued(self) -> int:
        return len(self._waiters)

    def slot(self, *, max_wait_s: float | None = None) -> _Slot:
        """``async with`` it around a call: a slot now, after a wait in the queue, or ``BulkheadFull``."""
        return _Slot(self, self.policy.max_wait_s if max_wait_s is None else min(max_wait_s, self.policy.max_wait_s))

    def take(self) -> bool:
        """A slot at once if one is free and nobody is queued (then ``release`` it); else False."""
        if self._active < self.policy.max_concurrent and not self._waiters:
            self._active += 1
            if self._counted:
                self._metrics.slot_taken()
            return True
        return False

    async def wait(self, *, max_wait_s: float) -> None:
        """After ``take`` said no: a slot after a wait in the queue (then ``release`` it), or
        ``BulkheadFull``. ``max_wait_s`` is further bounded by the policy's."""
        await self._queue(min(max_wait_s, self.policy.max_wait_s))

    async def _acquire(self, max_wait_s: float) -> None:
        if not self.take():
            await self._queue(max_wait_s)

    async def _queue(self, max_wait_s: float) -> None:
        if len(self._waiters) >= self.policy.max_queue or max_wait_s <= 0:
            self._metrics.bulkhead_rejected()
            raise BulkheadFull(f"{self._active} calls in flight and the queue is full", upstream=self.upstream)
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await asyncio.wait_for(asyncio.shield(waiter), max_wait_s)
        except BaseException as exc:
            if waiter.done() and not waiter.cancelled():
                self.release()  # the slot was handed over just as we gave up: pass it on
            else:
                waiter.cancel()
                if waiter in self._waiters:
                    self._waiters.remove(waiter)
            if isinstance(exc, TimeoutError):
                self._metrics.bulkhead_rejected()
                raise BulkheadFull("no slot became free in time", upstream=self.upstream) from None
            raise

    def release(self) -> None:
        """Give back a slot taken by ``take`` or ``wait``: to the next in the queue, if any."""
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)  # the slot moves to the waiter; ``_active`` is unchanged
                return
        self._active -= 1
        if self._counted:
            self._metrics.slot_freed()


class _Slot:
    """A class rather than an ``asynccontextmanager``: every attempt at an upstream takes a slot."""

    __slots__ = ("_bulkhead", "_max_wait_s")

    def __init__(self, bulkhead: Bulkhead, max_wait_s: float) -> None:
        self._bulkhead = bulkhead
        self._max_wait_s = max_wait_s

    async def __aenter__(self) -> None:
        await self._bulkhead._acquire(self._max_wait_s)

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._bulkhead.release()
