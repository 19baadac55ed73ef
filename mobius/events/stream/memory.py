"""The stream inside one process (no Redis): same contract, lost with the process."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from mobius.events.codec import encode, entity_key
from mobius.events.model import Event
from mobius.events.stream.base import Admission, Backlog, DeadLetter, StreamEntry, entry_age_s, entry_order


@dataclass(slots=True)
class _Pending:
    consumer: str
    delivered_at: float
    deliveries: int


class MemoryEventStream:
    def __init__(
        self,
        *,
        replay_ttl_s: float,
        version_ttl_s: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.replay_ttl_s = replay_ttl_s
        self.version_ttl_s = version_ttl_s
        self.clock = clock
        self._entries: dict[str, bytes] = {}
        self._undelivered: list[str] = []
        self._pending: dict[str, _Pending] = {}
        self._seen: dict[str, float] = {}
        self._versions: dict[str, tuple[int, float]] = {}
        self._dead: dict[str, DeadLetter] = {}
        self._last_ms = 0
        self._seq = 0
        self._arrived = asyncio.Event()

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None

    def _next_id(self) -> str:
        millis = int(self.clock() * 1000)
        if millis <= self._last_ms:
            self._seq += 1
        else:
            self._last_ms, self._seq = millis, 0
        return f"{self._last_ms}-{self._seq}"

    def _add(self, payload: bytes) -> None:
        entry_id = self._next_id()
        self._entries[entry_id] = payload
        self._undelivered.append(entry_id)
        self._arrived.set()

    def _applied(self, key: str) -> int | None:
        found = self._versions.get(key)
        if found is None or found[1] <= self.clock():
            return None
        return found[0]

    async def admit(self, event: Event) -> Admission:
        now = self.clock()
        seen_key = f"{event.source}:{event.id}"
        if self._seen.get(seen_key, 0.0) > now:
            return "replay"
        self._forget_expired(now)
        self._seen[seen_key] = now + self.replay_ttl_s
        applied = self._applied(entity_key(event))
        if applied is not None and applied >= event.version:
            return "stale"
        self._add(encode(event))
        return "accepted"

    def _forget_expired(self, now: float) -> None:
        if len(self._seen) % 1024 == 0:
            self._seen = {key: until for key, until in self._seen.items() if until > now}

    async def append(self, event: Event) -> None:
        await self.admit(event)

    async def read(self, consumer: str, *, count: int, block_s: float) -> list[StreamEntry]:
        if not self._undelivered and block_s > 0:
            self._arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._arrived.wait(), block_s)
        taken, self._undelivered = self._undelivered[:count], self._undelivered[count:]
        now = self.clock()
        for entry_id in taken:
            self._pending[entry_id] = _Pending(consumer, now, 1)
        return [StreamEntry(entry_id, self._entries[entry_id], 1) for entry_id in taken]

    async def resume(self, consumer: str, *, after: str, count: int) -> list[StreamEntry]:
        now = self.clock()
        resumed: list[StreamEntry] = []
        for entry_id, pending in self._pending.items():
            if len(resumed) >= count:
                break
            if pending.consumer == consumer and entry_order(entry_id) > entry_order(after):
                pending.delivered_at = now
                pending.deliveries += 1
                resumed.append(StreamEntry(entry_id, self._entries[entry_id], pending.deliveries))
        return resumed

    async def claim(self, consumer: str, *, idle_s: float, count: int) -> list[StreamEntry]:
        now = self.clock()
        claimed: list[StreamEntry] = []
        for entry_id, pending in self._pending.items():
            if len(claimed) >= count:
                break
            if now - pending.delivered_at >= idle_s:
                pending.consumer, pending.delivered_at = consumer, now
                pending.deliveries += 1
                claimed.append(StreamEntry(entry_id, self._entries[entry_id], pending.deliveries))
        return claimed

    async def ack(self, entry_ids: Sequence[str]) -> None:
        for entry_id in entry_ids:
            if self._pending.pop(entry_id, None) is not None:
                self._entries.pop(entry_id, None)

    async def applied_version(self, event: Event) -> int | None:
        return self._applied(entity_key(event))

    async def mark_applied(self, event: Event) -> None:
        key = entity_key(event)
        applied = self._applied(key)
        if applied is None or applied < event.version:
            self._versions[key] = (event.version, self.clock() + self.version_ttl_s)

    async def dead_letter(self, entry: StreamEntry, reason: str) -> None:
        if entry.entry_id not in self._pending:
            return
        dead_id = self._next_id()
        self._dead[dead_id] = DeadLetter(dead_id, entry.payload, reason, entry.deliveries)
        await self.ack([entry.entry_id])

    async def dead_letters(self, *, count: int) -> list[DeadLetter]:
        return list(self._dead.values())[:count]

    async def replay_dead(self, entry_ids: Sequence[str]) -> int:
        replayed = 0
        for entry_id in entry_ids:
            dead = self._dead.pop(entry_id, None)
            if dead is not None:
                self._add(dead.payload)
                replayed += 1
        return replayed

    async def drop_dead(self, entry_ids: Sequence[str]) -> int:
        return sum(self._dead.pop(entry_id, None) is not None for entry_id in entry_ids)

    async def backlog(self) -> Backlog:
        oldest = next(iter(self._entries), None)
        return Backlog(
            waiting=len(self._entries),
            pending=len(self._pending),
            dead=len(self._dead),
            oldest_age_s=entry_age_s(oldest, self.clock()) if oldest is not None else 0.0,
        )
