"""The consumer of the durable stream: at-least-once, handlers first, acknowledgement after.

Each round first takes over entries left unacknowledged for ``claim_idle_s`` (by a consumer that
died, or by a handler that failed: that is how a failed event is retried), then reads new ones. An
event whose entity already has this version or a newer one applied is acknowledged unapplied, so
out-of-order delivery never undoes a newer event. An entry delivered ``max_deliveries`` times
without success moves to the dead-letter stream.
"""

from __future__ import annotations

import asyncio
import os
import socket
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import structlog
from redis.exceptions import RedisError

from mobius.events.codec import decode, entity_key
from mobius.events.handlers import EventHandler
from mobius.events.stream import EventStream, StreamEntry
from mobius.telemetry.events import count_event, observe_backlog, observe_delay

log = structlog.get_logger("mobius.events.worker")

_ERROR_PAUSE_S = 0.5
_MAX_REASON_CHARS = 300


@dataclass(frozen=True, slots=True, kw_only=True)
class WorkerPolicy:
    batch: int = 100
    block_s: float = 1.0
    claim_idle_s: float = 30.0
    max_deliveries: int = 5


def consumer_name() -> str:
    """Unique per process unless ``mobius worker --consumer`` names it: a worker restarted under its
    old name first finishes what it left (in order); a new name leaves that to ``claim_idle_s``."""
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"


class Worker:
    def __init__(
        self,
        stream: EventStream,
        handlers: Sequence[EventHandler],
        policy: WorkerPolicy,
        *,
        consumer: str | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.stream = stream
        self.handlers = handlers
        self.policy = policy
        self.consumer = consumer or consumer_name()
        self.clock = clock
        self.wall_clock = wall_clock
        self._next_claim = 0.0
        self._resume_after: str | None = "0-0"

    async def run(self) -> None:
        """Until cancelled. A Redis outage pauses the worker; it never ends it."""
        log.info("events_worker_started", consumer=self.consumer)
        while True:
            try:
                await self.step()
            except (RedisError, OSError) as exc:
                log.warning("events_worker_store_error", error=type(exc).__name__)
                await asyncio.sleep(_ERROR_PAUSE_S)

    async def step(self) -> int:
        """One round; how many entries it took. The first rounds finish what this consumer's name
        left unacknowledged (a restart), in stream order, before anything new."""
        if self._resume_after is not None:
            resumed = await self.stream.resume(self.consumer, after=self._resume_after, count=self.policy.batch)
            await self.process_batch([entry for entry in resumed if entry.payload])
            self._resume_after = resumed[-1].entry_id if resumed else None
            if resumed:
                return len(resumed)
        entries: list[StreamEntry] = []
        now = self.clock()
        if now >= self._next_claim:
            entries = await self.stream.claim(self.consumer, idle_s=self.policy.claim_idle_s, count=self.policy.batch)
            if not entries:
                self._next_claim = now + max(self.policy.claim_idle_s / 4, 0.05)
                await self._observe()
        if not entries:
            entries = await self.stream.read(self.consumer, count=self.policy.batch, block_s=self.policy.block_s)
        await self.process_batch(entries)
        return len(entries)

    async def process_batch(self, entries: Sequence[StreamEntry]) -> None:
        """Entries of one entity in stream order, different entities side by side."""
        by_entity: dict[str, list[StreamEntry]] = {}
        for entry in entries:
            try:
                key = entity_key(decode(entry.payload))
            except ValueError:
                key = f"undecodable:{entry.entry_id}"
            by_entity.setdefault(key, []).append(entry)
        outcomes = await asyncio.gather(
            *(self._in_order(group) for group in by_entity.values()), return_exceptions=True
        )
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                raise outcome

    async def _in_order(self, entries: Sequence[StreamEntry]) -> None:
        for entry in entries:
            await self.process(entry)

    async def _observe(self) -> None:
        backlog = await self.stream.backlog()
        observe_backlog(waiting=backlog.waiting, lag_s=backlog.oldest_age_s, dead=backlog.dead)

    async def process(self, entry: StreamEntry) -> None:
        try:
            event = decode(entry.payload)
        except ValueError:
            log.warning("event_undecodable", entry=entry.entry_id)
            await self.stream.dead_letter(entry, "undecodable")
            return
        if entry.deliveries > self.policy.max_deliveries:
            await self._bury(entry, event.source, f"delivered {entry.deliveries} times without success")
            return
        applied = await self.stream.applied_version(event)
        if applied is not None and applied >= event.version:
            await self.stream.ack([entry.entry_id])
            count_event(event.source, "skipped_stale")
            return
        try:
            for handler in self.handlers:
                await handler.handle(event)
        except Exception as exc:  # a handler raising means "retry later", whatever it raised
            reason = f"{type(exc).__name__}: {exc}"[:_MAX_REASON_CHARS]
            log.warning(
                "event_handler_failed",
                event_id=event.id[:100],
                source=event.source,
                type=event.type[:100],
                deliveries=entry.deliveries,
                error=reason,
            )
            count_event(event.source, "failed")
            if entry.deliveries >= self.policy.max_deliveries:
                await self._bury(entry, event.source, reason)
            return
        await self.stream.mark_applied(event)
        await self.stream.ack([entry.entry_id])
        count_event(event.source, "applied")
        observe_delay(event.source, self.wall_clock() - event.occurred_at)

    async def _bury(self, entry: StreamEntry, source: str, reason: str) -> None:
        await self.stream.dead_letter(entry, reason)
        count_event(source, "dead_lettered")
        log.warning("event_dead_lettered", entry=entry.entry_id, source=source, deliveries=entry.deliveries)
