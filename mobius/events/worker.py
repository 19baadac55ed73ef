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
from dataclasses import dataclass, field

import structlog
from redis.exceptions import RedisError

from clients.redis_client import raise_consumed_cancel
from mobius.events.codec import decode, entity_key
from mobius.events.handlers import BatchEventHandler, EventHandler
from mobius.events.model import Event
from mobius.events.stream import EventStream, StreamEntry
from mobius.telemetry.events import count_event, observe_backlog, observe_delay

log = structlog.get_logger("mobius.events.worker")

_ERROR_PAUSE_S = 0.5
_MAX_REASON_CHARS = 300


@dataclass(slots=True)
class _Settled:
    """What a batch did: events applied (their versions to mark) and entries to acknowledge."""

    applied: list[Event] = field(default_factory=list)
    done: list[str] = field(default_factory=list)


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
        leading = 0
        while leading < len(handlers) and isinstance(handlers[leading], BatchEventHandler):
            leading += 1
        self.batch_handlers: tuple[BatchEventHandler, ...] = tuple(handlers[:leading])  # type: ignore[arg-type]
        """The leading handlers that take a batch at once; the rest run per event, in order."""
        self.handlers = handlers
        self._per_event = handlers[leading:]
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
            raise_consumed_cancel()

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
        """Entries of one entity in stream order, different entities side by side; the applied
        versions read, and the batch's versions marked and entries acknowledged, in one round trip
        each. A failed event holds back the later events of its entity (they are retried after it)."""
        parsed: list[tuple[StreamEntry, Event]] = []
        for entry in entries:
            try:
                parsed.append((entry, decode(entry.payload)))
            except ValueError:
                log.warning("event_undecodable", entry=entry.entry_id)
                await self.stream.dead_letter(entry, "undecodable")
        if not parsed:
            return
        known = await self.stream.applied_versions([event for _, event in parsed])
        groups: dict[str, list[tuple[StreamEntry, Event]]] = {}
        versions: dict[str, int | None] = {}
        for (entry, event), version in zip(parsed, known, strict=True):
            key = entity_key(event)
            groups.setdefault(key, []).append((entry, event))
            versions[key] = version
        batched = await self._batch(self._applicable(groups, versions))
        settled = _Settled()
        outcomes = await asyncio.gather(
            *(
                self._in_order(group, versions[key], settled, self._per_event if batched else self.handlers)
                for key, group in groups.items()
            ),
            return_exceptions=True,
        )
        await self.stream.settle(settled.applied, settled.done)
        now = self.wall_clock()
        for event in settled.applied:
            count_event(event.source, "applied")
            observe_delay(event.source, now - event.occurred_at)
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                raise outcome

    def _applicable(
        self, groups: dict[str, list[tuple[StreamEntry, Event]]], versions: dict[str, int | None]
    ) -> list[Event]:
        """The events ``_in_order`` applies if every handler succeeds, each entity's in order."""
        found = []
        for key, group in groups.items():
            applied = versions[key]
            for entry, event in group:
                if entry.deliveries <= self.policy.max_deliveries and (applied is None or applied < event.version):
                    found.append(event)
                    applied = event.version
        return found

    async def _batch(self, events: Sequence[Event]) -> bool:
        """Run the batch handlers once over ``events``. False when one failed: then every event
        runs all handlers one by one, so one bad event fails alone."""
        if not self.batch_handlers or not events:
            return True
        try:
            for handler in self.batch_handlers:
                await handler.handle_batch(events)
        except Exception as exc:  # a handler raising means "retry later", whatever it raised
            reason = f"{type(exc).__name__}: {exc}"[:_MAX_REASON_CHARS]
            log.warning("event_batch_handler_failed", events=len(events), error=reason)
            return False
        return True

    async def _in_order(
        self,
        group: Sequence[tuple[StreamEntry, Event]],
        applied: int | None,
        settled: _Settled,
        handlers: Sequence[EventHandler],
    ) -> None:
        for entry, event in group:
            if entry.deliveries > self.policy.max_deliveries:
                await self._bury(entry, event.source, f"delivered {entry.deliveries} times without success")
                continue
            if applied is not None and applied >= event.version:
                settled.done.append(entry.entry_id)
                count_event(event.source, "skipped_stale")
                continue
            reason = await self._apply(event, handlers)
            if reason is not None:
                log.warning(
                    "event_handler_failed",
                    event_id=event.id[:100],
                    source=event.source,
                    type=event.type[:100],
                    deliveries=entry.deliveries,
                    error=reason,
                )
                count_event(event.source, "failed")
                if entry.deliveries < self.policy.max_deliveries:
                    return
                await self._bury(entry, event.source, reason)
                continue
            applied = event.version
            settled.applied.append(event)
            settled.done.append(entry.entry_id)

    @staticmethod
    async def _apply(event: Event, handlers: Sequence[EventHandler]) -> str | None:
        """Run ``handlers`` in order; why one failed, or None."""
        try:
            for handler in handlers:
                await handler.handle(event)
        except Exception as exc:  # a handler raising means "retry later", whatever it raised
            return f"{type(exc).__name__}: {exc}"[:_MAX_REASON_CHARS]
        return None

    async def _observe(self) -> None:
        backlog = await self.stream.backlog()
        observe_backlog(waiting=backlog.waiting, lag_s=backlog.oldest_age_s, dead=backlog.dead)

    async def _bury(self, entry: StreamEntry, source: str, reason: str) -> None:
        await self.stream.dead_letter(entry, reason)
        count_event(source, "dead_lettered")
        log.warning("event_dead_lettered", entry=entry.entry_id, source=source, deliveries=entry.deliveries)
