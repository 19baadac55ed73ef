"""Where a client-side rate limiter keeps its state, so that replicas can share one quota.

Per key (one upstream and credential) a store keeps a "blocked until" time (learned from the
upstream: ``Retry-After``, or 0 remaining until a reset) and, for a configured or learned
``Limit``, the calls admitted in the current window: a counter per **fixed** window (aligned to
multiples of ``window_s`` on the wall clock, as fixed-window upstreams count) or the admission
times of the last ``window_s`` for a **sliding** window (at most ``limit`` in *any* interval of
``window_s``, which also holds against a fixed-window upstream whatever its phase). With ``burst``,
calls are also paced (GCRA): at most ``burst`` back to back, then one per ``window_s / limit``.

Times are wall-clock seconds passed in by the caller, so all replicas (and tests, with a fake
clock) agree on them. Each operation is atomic per key.
"""

from __future__ import annotations

import itertools
import math
import os
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Literal, Protocol

import structlog
from redis.exceptions import RedisError

from clients.redis_client import RedisClient
from clients.resilience.clock import Clock

log = structlog.get_logger("mobius.ratelimit")

WindowKind = Literal["fixed", "sliding"]


@dataclass(frozen=True, slots=True)
class Limit:
    """At most ``limit`` calls in any window of ``window_s`` seconds of ``kind``; with ``burst``,
    also paced so that at most ``burst`` go out back to back."""

    limit: int
    window_s: float
    kind: WindowKind = "sliding"
    burst: int | None = None


@dataclass(frozen=True, slots=True)
class Admission:
    allowed: bool
    retry_after_s: float = 0.0
    remaining: int | None = None
    """Calls left in the current window (and burst) under the limit; None without a limit."""


ADMITTED = Admission(allowed=True)


def refused(retry_after_s: float) -> Admission:
    return Admission(allowed=False, retry_after_s=retry_after_s, remaining=0)


class RateLimitStore(Protocol):
    async def take(self, key: str, *, now: float, limit: Limit | None) -> Admission:
        """Admit one call unless the key is blocked or ``limit`` is spent."""
        ...

    def take_now(self, key: str, *, now: float, limit: Limit | None) -> Admission | None:
        """``take`` when this process can answer at once (no I/O); None: ``take`` must be awaited."""
        ...

    async def block(self, key: str, *, now: float, until: float) -> None:
        """Admit nothing on ``key`` before ``until`` (a later block wins)."""
        ...

    async def forget(self, key: str) -> None:
        """Drop everything known about ``key``."""
        ...


_EPSILON_S = 1e-6
"""Tolerance for float error in the pacing arithmetic (times are ~1.7e9 s)."""


@dataclass(slots=True)
class _KeyState:
    blocked_until: float = 0.0
    tat: float | None = None
    """Pacing: the GCRA theoretical arrival time."""
    window: int = -1
    count: int = 0
    """Fixed window: the window's index (``floor(now / window_s)``) and the calls admitted in it."""
    admitted: deque[float] = field(default_factory=deque)
    """Sliding window: admission times within the last ``window_s``, oldest first."""


class MemoryRateLimitStore:
    """One process's limiter state (the default when no Redis is configured)."""

    def __init__(self) -> None:
        self._keys: dict[str, _KeyState] = {}

    async def take(self, key: str, *, now: float, limit: Limit | None) -> Admission:
        return self.take_now(key, now=now, limit=limit)

    def take_now(self, key: str, *, now: float, limit: Limit | None) -> Admission:
        """Always at once: the state is this process's."""
        state = self._keys.get(key)
        if state is None:
            if limit is None:
                return ADMITTED
            state = self._keys[key] = _KeyState()
        if state.blocked_until > now:
            return refused(state.blocked_until - now)
        if limit is None:
            return ADMITTED
        remaining = limit.limit
        new_tat = None
        if limit.burst is not None:
            interval = limit.window_s / limit.limit
            new_tat = max(state.tat or now, now) + interval
            allow_at = new_tat - min(limit.burst, limit.limit) * interval
            if now + _EPSILON_S < allow_at:
                return refused(allow_at - now)
            remaining = int((now - allow_at) / interval + _EPSILON_S)
        if limit.kind == "fixed":
            count = _take_fixed(state, now=now, limit=limit)
        else:
            count = _take_sliding(state, now=now, limit=limit)
        if isinstance(count, Admission):
            return count
        if new_tat is not None:
            state.tat = new_tat
        return Admission(allowed=True, remaining=min(remaining, limit.limit - count))

    async def block(self, key: str, *, now: float, until: float) -> None:
        state = self._keys.setdefault(key, _KeyState())
        state.blocked_until = max(state.blocked_until, until)

    async def forget(self, key: str) -> None:
        self._keys.pop(key, None)


def _take_fixed(state: _KeyState, *, now: float, limit: Limit) -> int | Admission:
    """Count one call in the current fixed window: the count after it, or the refusal."""
    window = math.floor(now / limit.window_s)
    if window != state.window:
        state.window, state.count = window, 0
    if state.count >= limit.limit:
        return refused((window + 1) * limit.window_s - now)
    state.count += 1
    return state.count


def _take_sliding(state: _KeyState, *, now: float, limit: Limit) -> int | Admission:
    """Count one call in the window ending now: the count after it, or the refusal."""
    admitted = state.admitted
    while admitted and admitted[0] <= now - limit.window_s:
        admitted.popleft()
    excess = len(admitted) - limit.limit
    if excess >= 0:
        return refused(admitted[excess] + limit.window_s - now)
    admitted.append(now)
    return len(admitted)


_TAKE = """
local now = tonumber(ARGV[1])
local blocked = tonumber(redis.call('GET', KEYS[1]) or '0')
if blocked > now then
  return {0, string.format('%.17g', blocked - now), '0', 1}
end
local limit = tonumber(ARGV[2])
local window = tonumber(ARGV[3])
local burst = tonumber(ARGV[5])
local remaining = limit
local new_tat = nil
if burst > 0 then
  local interval = window / limit
  local tat = tonumber(redis.call('GET', KEYS[3]) or ARGV[1])
  if tat < now then tat = now end
  new_tat = tat + interval
  local allow_at = new_tat - burst * interval
  if now + 0.000001 < allow_at then
    return {0, string.format('%.17g', allow_at - now), '0', 0}
  end
  remaining = math.floor((now - allow_at) / interval + 0.000001)
end
local count
if ARGV[4] == 'fixed' then
  local index = math.floor(now / window)
  local ends = (index + 1) * window
  local state = redis.call('HMGET', KEYS[2], 'window', 'count')
  count = 0
  if tonumber(state[1]) == index then count = tonumber(state[2]) end
  if count >= limit then
    return {0, string.format('%.17g', ends - now), '0', 0}
  end
  count = count + 1
  redis.call('HSET', KEYS[2], 'window', string.format('%.17g', index), 'count', count)
  redis.call('PEXPIRE', KEYS[2], math.ceil((ends - now + window) * 1000) + 1)
else
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', string.format('%.17g', now - window))
  count = redis.call('ZCARD', KEYS[2])
  if count >= limit then
    local leaving = redis.call('ZRANGE', KEYS[2], count - limit, count - limit, 'WITHSCORES')
    return {0, string.format('%.17g', tonumber(leaving[2]) + window - now), '0', 0}
  end
  count = count + 1
  redis.call('ZADD', KEYS[2], ARGV[1], ARGV[6])
  redis.call('PEXPIRE', KEYS[2], math.ceil(window * 1000) + 1)
end
if new_tat then
  redis.call('SET', KEYS[3], string.format('%.17g', new_tat), 'PX', math.ceil((new_tat - now) * 1000) + 1)
end
if limit - count < remaining then remaining = limit - count end
return {1, '0', tostring(remaining), 0}
"""
"""KEYS: blocked, window (a hash for fixed, a sorted set for sliding), tat. ARGV: now, limit,
window_s, kind, burst (0: no pacing), a unique member for the sliding window. Returns (allowed,
retry_after_s, remaining, blocked) with ``blocked`` 1 when the refusal was a block.

A fixed window's hash outlives its window by one more: it names its window, so a late reading
starts a new count anyway, while a replica whose clock runs behind Redis's (or behind the
replica that wrote it) still finds the count of the window it is in."""

_BLOCK = """
local now = tonumber(ARGV[1])
local untl = tonumber(ARGV[2])
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if untl > current and untl > now then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', math.ceil((untl - now) * 1000) + 1)
end
return 1
"""


@dataclass(frozen=True, slots=True)
class _RedisKeys:
    blocked: str
    fixed: str
    sliding: str
    tat: str

    @classmethod
    def for_key(cls, prefix: str, key: str) -> _RedisKeys:
        """One hash tag per (upstream, credential): a key's scripts touch one Redis Cluster slot."""
        base = f"{prefix}{{{key}}}:"
        return cls(blocked=f"{base}blocked", fixed=f"{base}fixed", sliding=f"{base}sliding", tat=f"{base}tat")


@dataclass(slots=True)
class _BlockView:
    """What this replica knows of a key's block: the last reading from Redis, never earlier than
    a block this replica recorded itself (a reading sent before that block must not undo it), and
    until when (monotonic) the reading stands in for Redis."""

    blocked_until: float = 0.0
    own_until: float = 0.0
    fresh_until: float = -math.inf

    def read(self, blocked_until: float, *, fresh_until: float) -> None:
        self.blocked_until = max(blocked_until, self.own_until)
        self.fresh_until = fresh_until


class RedisRateLimitStore:
    """Limiter state in Redis; each counted call is one Lua script, so replicas share one quota.

    Keys: ``<prefix>ratelimit:{<key>}:blocked|fixed|sliding|tat``, each expiring when it stops
    mattering; the hash tag keeps one key's state in one Redis Cluster slot.

    A call with no limit in force (no static quota, nothing learned by this replica) costs no
    round trip: it is checked against this replica's copy of the key's block, re-read from Redis at
    most once per ``sync_s``. So a block learned by another replica (a 429, "0 remaining, reset in
    30 s") holds this one back within ``sync_s``, for one ``GET`` per key and interval however many
    calls go out. A call under a limit runs the script, which counts it and checks the block.

    When Redis cannot be reached, this replica keeps limiting on its own (an in-process store) and
    leaves Redis alone for ``retry_after_failure_s``, so a Redis outage costs one timeout per
    interval, not one per upstream call; each switch is logged once.
    """

    def __init__(
        self,
        redis: RedisClient,
        *,
        key_prefix: str,
        retry_after_failure_s: float = 5.0,
        sync_s: float = 0.25,
        clock: Clock = time.monotonic,
    ) -> None:
        self._redis = redis
        self._prefix = f"{key_prefix}ratelimit:"
        self._take = redis.register_script(_TAKE)
        self._block = redis.register_script(_BLOCK)
        self._local = MemoryRateLimitStore()
        self._retry_after_failure_s = retry_after_failure_s
        self._sync_s = sync_s
        self._clock = clock
        self._local_until: float | None = None
        self._keys: dict[str, _RedisKeys] = {}
        self._views: dict[str, _BlockView] = {}
        self._members = itertools.count()
        self._replica = os.urandom(6).hex()

    def _use_local(self) -> bool:
        if self._local_until is None:
            return False
        if self._clock() < self._local_until:
            return True
        self._local_until = None
        log.info("rate_limit_store_retrying_redis")
        return False

    def _failed(self, exc: RedisError) -> None:
        if self._local_until is None:
            log.warning("rate_limit_store_unavailable", error_type=type(exc).__name__)
        self._local_until = self._clock() + self._retry_after_failure_s

    def _redis_keys(self, key: str) -> _RedisKeys:
        keys = self._keys.get(key)
        if keys is None:
            keys = self._keys[key] = _RedisKeys.for_key(self._prefix, key)
        return keys

    def _view(self, key: str) -> _BlockView:
        view = self._views.get(key)
        if view is None:
            view = self._views[key] = _BlockView()
        return view

    async def close(self) -> None:
        await self._redis.aclose()

    def take_now(self, key: str, *, now: float, limit: Limit | None) -> Admission | None:
        """At once with no limit in force and a fresh copy of the key's block (else None)."""
        if self._use_local():
            return self._local.take_now(key, now=now, limit=limit)
        view = self._views.get(key)
        if limit is not None or view is None or self._clock() >= view.fresh_until:
            return None
        return refused(view.blocked_until - now) if view.blocked_until > now else ADMITTED

    async def take(self, key: str, *, now: float, limit: Limit | None) -> Admission:
        if self._use_local():
            return await self._local.take(key, now=now, limit=limit)
        view = self._view(key)
        stale = self._clock() >= view.fresh_until
        try:
            if limit is None:
                if stale:
                    await self._read_block(key, view)
            elif stale or view.blocked_until <= now:
                return await self._take_in_redis(key, view, now=now, limit=limit)
        except RedisError as exc:
            self._failed(exc)
            return await self._local.take(key, now=now, limit=limit)
        return refused(view.blocked_until - now) if view.blocked_until > now else ADMITTED

    async def _read_block(self, key: str, view: _BlockView) -> None:
        fresh_until = view.fresh_until = self._clock() + self._sync_s  # concurrent callers keep the last reading
        raw = await self._redis.get(self._redis_keys(key).blocked)
        view.read(0.0 if raw is None else float(raw), fresh_until=fresh_until)

    async def _take_in_redis(self, key: str, view: _BlockView, *, now: float, limit: Limit) -> Admission:
        keys = self._redis_keys(key)
        window = keys.fixed if limit.kind == "fixed" else keys.sliding
        burst = 0 if limit.burst is None else min(limit.burst, limit.limit)
        member = f"{self._replica}:{next(self._members)}"
        allowed, retry_after, remaining, blocked = await self._take(
            keys=[keys.blocked, window, keys.tat],
            args=[repr(now), limit.limit, repr(limit.window_s), limit.kind, burst, member],
        )
        retry_after_s = float(retry_after)
        view.read(now + retry_after_s if int(blocked) else 0.0, fresh_until=self._clock() + self._sync_s)
        if int(allowed):
            return Admission(allowed=True, remaining=int(remaining))
        return refused(retry_after_s)

    async def block(self, key: str, *, now: float, until: float) -> None:
        await self._local.block(key, now=now, until=until)
        view = self._view(key)
        view.own_until = max(view.own_until, until)
        view.blocked_until = max(view.blocked_until, until)
        if self._use_local():
            return
        try:
            await self._block(keys=[self._redis_keys(key).blocked], args=[repr(now), repr(until)])
        except RedisError as exc:
            self._failed(exc)

    async def forget(self, key: str) -> None:
        await self._local.forget(key)
        self._views.pop(key, None)
        keys = self._redis_keys(key)
        try:
            await self._redis.delete(keys.blocked, keys.fixed, keys.sliding, keys.tat)
        except RedisError as exc:
            self._failed(exc)
