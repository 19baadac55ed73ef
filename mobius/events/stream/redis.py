"""The stream on Redis Streams: one stream, one consumer group, a dead-letter stream.

Every key shares the ``{events}`` hash tag, so on a Redis Cluster they live in one slot and each
script may touch them all: ``<prefix>{events}`` (the stream), ``<prefix>{events}:dead``,
``<prefix>{events}:seen:<source>:<id>`` (replay protection, ``replay_ttl_s``) and
``<prefix>{events}:v:<entity type>:<entity id>`` (the version applied last, ``version_ttl_s``).
An entry is deleted once acknowledged, so the stream holds exactly what is still to be done.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from redis.exceptions import ResponseError

from clients.redis_client import RedisClient
from mobius.events.codec import encode, entity_key
from mobius.events.model import Event
from mobius.events.stream.base import Admission, Backlog, DeadLetter, StreamEntry, entry_age_s

GROUP = "workers"

# KEYS: stream, seen, version. ARGV: replay ttl ms, version, payload.
_ADMIT = """
if redis.call('EXISTS', KEYS[2]) == 1 then return 'replay' end
redis.call('SET', KEYS[2], '1', 'PX', ARGV[1])
local applied = tonumber(redis.call('GET', KEYS[3]) or '-1')
if applied ~= nil and applied >= tonumber(ARGV[2]) then return 'stale' end
redis.call('XADD', KEYS[1], '*', 'e', ARGV[3])
return 'accepted'
"""

# KEYS: version. ARGV: version, ttl ms.
_MARK = """
local applied = tonumber(redis.call('GET', KEYS[1]) or '-1')
if applied == nil or applied < tonumber(ARGV[1]) then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
"""

# KEYS: stream, then one version key per applied event. ARGV: group, ttl ms, then the applied
# versions (one per version key), then the entry ids to acknowledge (unpacked 1,000 at a time, within
# Lua's stack). All of it or nothing.
_SETTLE = """
local marks = #KEYS - 1
for i = 1, marks do
  local applied = tonumber(redis.call('GET', KEYS[i + 1]) or '-1')
  if applied == nil or applied < tonumber(ARGV[i + 2]) then
    redis.call('SET', KEYS[i + 1], ARGV[i + 2], 'PX', ARGV[2])
  end
end
local first = marks + 3
while first <= #ARGV do
  local last = math.min(first + 999, #ARGV)
  redis.call('XACK', KEYS[1], ARGV[1], unpack(ARGV, first, last))
  redis.call('XDEL', KEYS[1], unpack(ARGV, first, last))
  first = last + 1
end
return 1
"""

# KEYS: stream, dead. ARGV: group, entry id, payload, reason, deliveries.
_BURY = """
if redis.call('XACK', KEYS[1], ARGV[1], ARGV[2]) == 0 then return 0 end
redis.call('XADD', KEYS[2], '*', 'e', ARGV[3], 'reason', ARGV[4], 'deliveries', ARGV[5])
redis.call('XDEL', KEYS[1], ARGV[2])
return 1
"""

# KEYS: stream, dead. ARGV: dead entry id.
_REVIVE = """
local found = redis.call('XRANGE', KEYS[2], ARGV[1], ARGV[1])
if #found == 0 then return 0 end
local fields = found[1][2]
for i = 1, #fields, 2 do
  if fields[i] == 'e' then
    redis.call('XADD', KEYS[1], '*', 'e', fields[i + 1])
    redis.call('XDEL', KEYS[2], ARGV[1])
    return 1
  end
end
return 0
"""


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _payload(fields: dict[Any, Any]) -> bytes:
    raw = fields.get(b"e", fields.get("e", b""))
    return raw if isinstance(raw, bytes) else str(raw).encode()


class RedisEventStream:
    def __init__(
        self,
        client: RedisClient,
        *,
        prefix: str,
        replay_ttl_s: float,
        version_ttl_s: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.client = client
        self.key = f"{prefix}{{events}}"
        self.dead_key = f"{self.key}:dead"
        self.replay_ttl_ms = max(1, int(replay_ttl_s * 1000))
        self.version_ttl_ms = max(1, int(version_ttl_s * 1000))
        self.clock = clock
        self._admit = client.register_script(_ADMIT)
        self._mark = client.register_script(_MARK)
        self._bury = client.register_script(_BURY)
        self._settle = client.register_script(_SETTLE)
        self._revive = client.register_script(_REVIVE)
        self._claim_cursor = "0-0"

    async def start(self) -> None:
        await self._ensure_group()

    async def close(self) -> None:
        await self.client.aclose()

    async def _ensure_group(self) -> None:
        try:
            await self.client.xgroup_create(self.key, GROUP, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    def _seen_key(self, event: Event) -> str:
        return f"{self.key}:seen:{event.source}:{event.id}"

    def _version_key(self, event: Event) -> str:
        return f"{self.key}:v:{entity_key(event)}"

    async def admit(self, event: Event) -> Admission:
        outcome = await self._admit(
            keys=[self.key, self._seen_key(event), self._version_key(event)],
            args=[self.replay_ttl_ms, event.version, encode(event)],
        )
        text = _text(outcome)
        assert text in ("accepted", "replay", "stale")
        return text  # type: ignore[return-value]  # the script answers one of the three words

    async def append(self, event: Event) -> None:
        await self.admit(event)

    async def read(self, consumer: str, *, count: int, block_s: float) -> list[StreamEntry]:
        block_ms = max(1, int(block_s * 1000)) if block_s > 0 else None
        try:
            answer: Any = await self.client.xreadgroup(GROUP, consumer, {self.key: ">"}, count=count, block=block_ms)
        except ResponseError as exc:
            if "NOGROUP" not in str(exc):
                raise
            await self._ensure_group()
            return []
        entries: list[StreamEntry] = []
        for _stream, rows in answer or []:
            entries.extend(StreamEntry(_text(entry_id), _payload(fields), 1) for entry_id, fields in rows)
        return entries

    async def resume(self, consumer: str, *, after: str, count: int) -> list[StreamEntry]:
        try:
            answer: Any = await self.client.xreadgroup(GROUP, consumer, {self.key: after}, count=count)
        except ResponseError as exc:
            if "NOGROUP" not in str(exc):
                raise
            await self._ensure_group()
            return []
        rows = [row for _stream, found in answer or [] for row in found]
        gone = [_text(entry_id) for entry_id, fields in rows if not fields]  # deleted while pending
        if gone:
            await self.client.xack(self.key, GROUP, *gone)
        entries = await self._with_deliveries([row for row in rows if row[1]])
        if gone and not entries:  # keep the caller's paging going past deleted entries
            return [StreamEntry(gone[-1], b"", 0)]
        return entries

    async def _with_deliveries(self, rows: list[Any]) -> list[StreamEntry]:
        if not rows:
            return []
        pipe = self.client.pipeline(transaction=False)
        for entry_id, _fields in rows:
            pipe.xpending_range(self.key, GROUP, min=entry_id, max=entry_id, count=1)
        counts = await pipe.execute()
        entries = []
        for (entry_id, fields), pending in zip(rows, counts, strict=True):
            deliveries = int(pending[0]["times_delivered"]) if pending else 1
            entries.append(StreamEntry(_text(entry_id), _payload(fields), deliveries))
        return entries

    async def claim(self, consumer: str, *, idle_s: float, count: int) -> list[StreamEntry]:
        idle_ms = max(0, int(idle_s * 1000))
        try:
            answer: Any = await self.client.xautoclaim(
                self.key, GROUP, consumer, min_idle_time=idle_ms, start_id=self._claim_cursor, count=count
            )
        except ResponseError as exc:
            if "NOGROUP" not in str(exc):
                raise
            await self._ensure_group()  # Redis was away at start, or lost the stream
            return []
        self._claim_cursor = _text(answer[0])
        rows = answer[1]
        gone = [_text(entry_id) for entry_id in answer[2]] if len(answer) > 2 else []  # Redis 7 adds deleted ids
        if gone:
            await self.client.xack(self.key, GROUP, *gone)
        return await self._with_deliveries(rows)

    async def ack(self, entry_ids: Sequence[str]) -> None:
        if not entry_ids:
            return
        pipe = self.client.pipeline(transaction=True)
        pipe.xack(self.key, GROUP, *entry_ids)
        pipe.xdel(self.key, *entry_ids)
        await pipe.execute()

    async def applied_version(self, event: Event) -> int | None:
        raw = await self.client.get(self._version_key(event))
        return None if raw is None else int(raw)

    async def mark_applied(self, event: Event) -> None:
        await self._mark(keys=[self._version_key(event)], args=[event.version, self.version_ttl_ms])

    async def applied_versions(self, events: Sequence[Event]) -> list[int | None]:
        if not events:
            return []
        found: list[Any] = await self.client.mget([self._version_key(event) for event in events])
        return [None if raw is None else int(raw) for raw in found]

    async def settle(self, applied: Sequence[Event], entry_ids: Sequence[str]) -> None:
        """One script (loaded once, then called by its digest): the marks and the acknowledgements
        land together or not at all."""
        if not applied and not entry_ids:
            return
        await self._settle(
            keys=[self.key, *(self._version_key(event) for event in applied)],
            args=[GROUP, self.version_ttl_ms, *(event.version for event in applied), *entry_ids],
        )

    async def dead_letter(self, entry: StreamEntry, reason: str) -> None:
        await self._bury(
            keys=[self.key, self.dead_key], args=[GROUP, entry.entry_id, entry.payload, reason[:500], entry.deliveries]
        )

    async def dead_letters(self, *, count: int) -> list[DeadLetter]:
        rows: Any = await self.client.xrange(self.dead_key, count=count)
        letters = []
        for entry_id, fields in rows:
            reason = fields.get(b"reason", b"")
            deliveries = fields.get(b"deliveries", b"0")
            letters.append(DeadLetter(_text(entry_id), _payload(fields), _text(reason), int(deliveries)))
        return letters

    async def replay_dead(self, entry_ids: Sequence[str]) -> int:
        replayed = 0
        for entry_id in entry_ids:
            replayed += int(await self._revive(keys=[self.key, self.dead_key], args=[entry_id]))
        return replayed

    async def drop_dead(self, entry_ids: Sequence[str]) -> int:
        if not entry_ids:
            return 0
        return int(await self.client.xdel(self.dead_key, *entry_ids))

    async def backlog(self) -> Backlog:
        pipe = self.client.pipeline(transaction=False)
        pipe.xlen(self.key)
        pipe.xlen(self.dead_key)
        pipe.xrange(self.key, count=1)
        waiting, dead, oldest = await pipe.execute()
        try:
            summary = await self.client.xpending(self.key, GROUP)
            pending = int(summary["pending"])
        except ResponseError:
            pending = 0
        age = entry_age_s(_text(oldest[0][0]), self.clock()) if oldest else 0.0
        return Backlog(waiting=int(waiting), pending=pending, dead=int(dead), oldest_age_s=age)
