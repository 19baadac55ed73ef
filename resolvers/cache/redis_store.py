"""The shared store on Redis (one server, Sentinel's master, or a Redis Cluster). Every call has a
deadline and goes through the store's breaker; any failure becomes ``CacheUnavailable`` (a miss for
the engine), never a gateway error.

The breaker is the upstreams' circuit breaker with a count window as long as the failure threshold
and a 100% failure rate: that many consecutive failures open it, Redis is then skipped (every
cache call an instant miss) for ``reset_after_s``, and one probe decides.

Layout under the configured prefix: ``c:...`` entries (``SET ... PX``), ``t:<tag>`` sets of entry
keys (and of linked tags, marked ``#``), ``l:<key>`` short stampede locks, and fences:
``f:<key>``, ``f:t:<tag>`` and ``f:all`` hold when an invalidation happened, for ``fence_s``.
Invalidations are published on ``<prefix>cache:invalidations`` so other replicas evict their L1.

Slot safety (Redis Cluster): an entry key carries its entity as a hash tag (``{User:u-42}``), so its
fence and lock share its slot and the write script and the unlock script see keys of one slot;
reads of many keys are one ``MGET`` per slot; every other command names one key. ``clear`` scans
every primary.

Fences close the race of a slow fetch with an invalidation on another replica: the invalidation
writes its fences before it reads the tag sets; a write is refused by a script if its key's fence is
newer than its fetch (atomic), and its tags' fences are read after the write has joined the tag
sets, the write undone (and evicted everywhere) when one is newer. Either the invalidation's read of
the tag sets sees the write, or the write's read sees the fence.
"""

from __future__ import annotations

import asyncio
import math
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any, TypeVar

import orjson
from redis.asyncio.cluster import RedisCluster
from redis.exceptions import RedisError

from clients.errors import CircuitOpen
from clients.redis_client import RedisClient, by_slot, get_many
from clients.resilience.breaker import BreakerPolicy, BreakerState, CircuitBreaker
from clients.resilience.clock import Clock
from resolvers.cache.store import CacheUnavailable, StoreHealth, StoreWrite

T = TypeVar("T")

LINK_MARK = "#"
INVALIDATION_CHANNEL = "cache:invalidations"
_MAX_TAG_DEPTH = 4
_SCAN_BATCH = 500

# Deletes a lock only if this replica still holds it (it may have expired and been taken since).
_UNLOCK = "for i, key in ipairs(KEYS) do if redis.call('get', key) == ARGV[1] then redis.call('del', key) end end"

# Writes an entry unless its fence (KEYS[2]) is at or after the fetch behind it began (ARGV[3]).
_WRITE_UNFENCED = """
local fence = redis.call('GET', KEYS[2])
if fence and tonumber(fence) >= tonumber(ARGV[3]) then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
"""
FENCE_ALL = "f:all"


def store_breaker(
    *, failure_threshold: int = 3, reset_after_s: float = 5.0, clock: Clock = time.monotonic
) -> CircuitBreaker:
    """``failure_threshold`` consecutive failures open it for ``reset_after_s``; then one probe."""
    policy = BreakerPolicy(
        window="count",
        window_size=failure_threshold,
        minimum_calls=failure_threshold,
        failure_rate_threshold=100.0,
        slow_call_rate_threshold=100.0,
        slow_call_s=math.inf,
        open_s=reset_after_s,
        half_open_probes=1,
    )
    return CircuitBreaker(upstream="cache", policy=policy, clock=clock)


def _glob_escape(text: str) -> str:
    return "".join("\\" + char if char in "*?[]\\" else char for char in text)


class RedisStore:
    def __init__(
        self, client: RedisClient, *, prefix: str, op_timeout_s: float, breaker: CircuitBreaker | None = None
    ) -> None:
        self.client = client
        self.prefix = prefix
        self.op_timeout_s = op_timeout_s
        self.breaker = breaker or store_breaker()
        self.channel = prefix + INVALIDATION_CHANNEL
        self._token = uuid.uuid4().hex
        self._unlock = client.register_script(_UNLOCK)
        self._healthy = True

    @property
    def origin(self) -> str:
        """Names this store in what it publishes: its own process already applied those evictions."""
        return self._token

    def _message(self, body: dict[str, Any]) -> bytes:
        return orjson.dumps({**body, "origin": self._token})

    def _key(self, key: str) -> str:
        return self.prefix + key

    def _tag(self, tag: str) -> str:
        return f"{self.prefix}t:{tag}"

    def _fence(self, key: str) -> str:
        return f"{self.prefix}f:{key}"

    def _tag_fence(self, tag: str) -> str:
        return f"{self.prefix}f:t:{tag}"

    async def _call(self, operation: Callable[[], Awaitable[T]], *, timeout_s: float | None = None) -> T:
        try:
            permit = self.breaker.acquire()
        except CircuitOpen:
            raise CacheUnavailable("redis skipped: its breaker is open") from None
        try:
            async with asyncio.timeout(timeout_s or self.op_timeout_s):
                result = await operation()
        except (RedisError, OSError, TimeoutError) as exc:
            permit.failure(0.0)
            self._healthy = False
            raise CacheUnavailable(f"redis: {type(exc).__name__}") from None
        except BaseException:
            permit.release()
            raise
        permit.success(0.0)
        self._healthy = True
        return result

    async def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        found: list[bytes | None] = await self._call(lambda: self._mget(keys))
        return found

    async def _mget(self, keys: Sequence[str]) -> list[bytes | None]:
        values = await get_many(self.client, [self._key(key) for key in keys])
        return [value if isinstance(value, bytes) or value is None else str(value).encode() for value in values]

    async def set_many(self, writes: Sequence[StoreWrite]) -> set[str]:
        refused: set[str] = await self._call(lambda: self._set_many(writes), timeout_s=self.op_timeout_s * 2)
        return refused

    async def _set_many(self, writes: Sequence[StoreWrite]) -> set[str]:
        pipe = self.client.pipeline(transaction=False)
        for write in writes:
            ttl_s = max(1, math.ceil(write.ttl_s))
            key = self._key(write.key)
            if write.since is None:
                pipe.set(key, write.data, ex=ttl_s)
            else:
                pipe.eval(_WRITE_UNFENCED, 2, key, self._fence(write.key), write.data, ttl_s * 1000, repr(write.since))
            members = [(self._tag(tag), write.key) for tag in write.tags]
            members += [(self._tag(parent), LINK_MARK + child) for parent, child in write.links]
            for tag_key, member in members:
                pipe.sadd(tag_key, member)
                pipe.expire(tag_key, ttl_s, nx=True)
                pipe.expire(tag_key, ttl_s, gt=True)
        results: list[Any] = await pipe.execute()
        refused: set[str] = set()
        fenced: list[StoreWrite] = []
        position = 0
        for write in writes:
            if write.since is not None:
                if results[position] == 0:
                    refused.add(write.key)
                else:
                    fenced.append(write)
            position += 1 + 3 * (len(write.tags) + len(write.links))
        if fenced:
            refused |= await self._undo_fenced(fenced)
        return refused

    async def _undo_fenced(self, writes: Sequence[StoreWrite]) -> set[str]:
        """Read the fences of the written values' tags (now that they are in the tag sets) and
        undo the writes an invalidation reached meanwhile."""
        tags = sorted({tag for write in writes for tag in write.tags})
        fences = await get_many(self.client, [self.prefix + FENCE_ALL] + [self._tag_fence(tag) for tag in tags])
        fenced_at = {tag: float(value) for tag, value in zip(tags, fences[1:], strict=True) if value is not None}
        everything = float(fences[0]) if fences[0] is not None else None
        undone = {
            write.key
            for write in writes
            if write.since is not None
            and (
                (everything is not None and everything >= write.since)
                or any(fenced_at.get(tag, -math.inf) >= write.since for tag in write.tags)
            )
        }
        if undone:
            ordered = sorted(undone)
            await self.client.delete(*[self._key(key) for key in ordered])
            await self.client.publish(self.channel, self._message({"keys": ordered, "tags": []}))
        return undone

    async def invalidate(self, keys: Sequence[str], tags: Sequence[str], *, at: float, fence_s: float) -> list[str]:
        return await self._call(lambda: self._invalidate(keys, tags, at, fence_s), timeout_s=self.op_timeout_s * 4)

    async def _fence_all(self, fence_keys: Sequence[str], at: float, fence_s: float) -> None:
        if not fence_keys:
            return
        pipe = self.client.pipeline(transaction=False)
        _queue_fences(pipe, fence_keys, at, fence_s)
        await pipe.execute()

    async def _invalidate(self, keys: Sequence[str], tags: Sequence[str], at: float, fence_s: float) -> list[str]:
        """Per tag level one round trip: its fences (the keys' with the first level) are set before
        its members are read, in the same pipeline; then the deletes, then the message."""
        doomed = set(keys)
        seen = set(tags)
        frontier = list(tags)
        fences = [self._fence(key) for key in keys]
        for _ in range(_MAX_TAG_DEPTH):
            if not frontier:
                break
            fences.extend(self._tag_fence(tag) for tag in frontier)
            pipe = self.client.pipeline(transaction=False)
            _queue_fences(pipe, fences, at, fence_s)
            for tag in frontier:
                pipe.smembers(self._tag(tag))
            answers: list[Any] = await pipe.execute()
            members: list[set[bytes]] = answers[len(fences) :]
            fences = []
            children = []
            for member in (m.decode() for found in members for m in found):
                if member.startswith(LINK_MARK):
                    children.append(member[len(LINK_MARK) :])
                else:
                    doomed.add(member)
            frontier = [child for child in dict.fromkeys(children) if child not in seen]
            seen.update(frontier)
        await self._fence_all(fences, at, fence_s)  # the keys', when no tag was named
        ordered = sorted(doomed)
        pipe = self.client.pipeline(transaction=False)
        for key in ordered:
            pipe.delete(self._key(key))
        for tag in seen:
            pipe.delete(self._tag(tag))
        removed: list[int] = await pipe.execute()
        deleted = [key for key, count in zip(ordered, removed, strict=False) if count]
        message = self._message({"keys": ordered, "tags": sorted(seen)})
        await self.client.publish(self.channel, message)
        return deleted

    async def clear(self, *, at: float, fence_s: float) -> int:
        return await self._call(lambda: self._clear(at, fence_s), timeout_s=max(self.op_timeout_s * 20, 2.0))

    async def _clear(self, at: float, fence_s: float) -> int:
        """Every entry under the prefix, on every primary of a cluster (``SCAN`` visits each node)."""
        await self._fence_all([self.prefix + FENCE_ALL], at, fence_s)
        entries = 0
        pattern_prefix = _glob_escape(self.prefix)
        for kind in ("c:", "t:", "l:"):
            batch: list[Any] = []
            async for key in self.client.scan_iter(match=f"{pattern_prefix}{kind}*", count=_SCAN_BATCH):
                batch.append(key)
                if len(batch) >= _SCAN_BATCH:
                    removed = await self.client.unlink(*batch)
                    entries += removed if kind == "c:" else 0
                    batch = []
            if batch:
                removed = await self.client.unlink(*batch)
                entries += removed if kind == "c:" else 0
        await self.client.publish(self.channel, self._message({"all": True}))
        return entries

    async def try_lock(self, keys: Sequence[str], ttl_s: float) -> set[str]:
        pipe = self.client.pipeline(transaction=False)
        for key in keys:
            pipe.set(f"{self.prefix}l:{key}", self._token, nx=True, px=max(1, int(ttl_s * 1000)))
        taken: list[bool | None] = await self._call(pipe.execute)
        return {key for key, ok in zip(keys, taken, strict=True) if ok}

    async def unlock(self, keys: Sequence[str]) -> None:
        lock_keys = [f"{self.prefix}l:{key}" for key in keys]
        await self._call(lambda: self._unlock_by_slot(lock_keys))

    async def _unlock_by_slot(self, lock_keys: Sequence[str]) -> None:
        groups = by_slot(self.client, lock_keys)
        await asyncio.gather(*(self._unlock(keys=group, args=[self._token]) for group in groups))

    async def ping(self) -> StoreHealth:
        try:
            await self._call(self._ping)
        except CacheUnavailable:
            return "degraded"
        return "ok"

    async def _ping(self) -> object:
        if isinstance(self.client, RedisCluster):
            return await self.client.ping(target_nodes=RedisCluster.ALL_NODES)
        return await self.client.ping()

    def health(self) -> StoreHealth:
        return "ok" if self._healthy and self.breaker.state is BreakerState.CLOSED else "degraded"


def _queue_fences(pipe: Any, fence_keys: Iterable[str], at: float, fence_s: float) -> None:
    for fence_key in fence_keys:
        pipe.set(fence_key, repr(at), px=max(1, int(fence_s * 1000)))
