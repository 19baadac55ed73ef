"""Where a client-side rate limiter keeps its state, so that replicas can share one quota.

Each key holds a GCRA "theoretical arrival time" (for a configured or learned quota) and a
"blocked until" time (learned from the upstream: ``Retry-After``, or 0 remaining until a reset).
Times are wall-clock seconds passed in by the caller, so all replicas (and tests, with a fake
clock) agree on them. Both operations are atomic per key.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Protocol

import structlog
from redis.asyncio import Redis
from redis.exceptions import RedisError

from clients.resilience.clock import Clock
from clients.resilience.ratelimit_headers import Quota

log = structlog.get_logger("mobius.ratelimit")


@dataclass(frozen=True, slots=True)
class Admission:
    allowed: bool
    retry_after_s: float = 0.0
    remaining: int | None = None
    """Calls left in the current burst under the quota; None without a quota."""


class RateLimitStore(Protocol):
    async def take(self, key: str, *, now: float, quota: Quota | None, burst: int) -> Admission:
        """Admit one call unless the key is blocked or the quota (GCRA, ``burst`` deep) is spent."""
        ...

    async def block(self, key: str, *, now: float, until: float) -> None:
        """Admit nothing on ``key`` before ``until`` (a later block wins)."""
        ...

    async def forget(self, key: str) -> None:
        """Drop everything known about ``key``."""
        ...


_EPSILON_S = 1e-6
"""Tolerance for float error in wall-clock arithmetic (times are ~1.7e9 s)."""


def _gcra(tat: float | None, *, now: float, quota: Quota, burst: int) -> tuple[Admission, float | None]:
    interval = quota.window_s / quota.limit
    new_tat = max(tat or now, now) + interval
    allow_at = new_tat - burst * interval
    if now + _EPSILON_S < allow_at:
        return Admission(allowed=False, retry_after_s=allow_at - now, remaining=0), None
    return Admission(allowed=True, remaining=int((now - allow_at) / interval + _EPSILON_S)), new_tat


class MemoryRateLimitStore:
    """One process's limiter state (the default when no Redis is configured)."""

    def __init__(self) -> None:
        self._tat: dict[str, float] = {}
        self._blocked: dict[str, float] = {}

    async def take(self, key: str, *, now: float, quota: Quota | None, burst: int) -> Admission:
        blocked = self._blocked.get(key, 0.0)
        if blocked > now:
            return Admission(allowed=False, retry_after_s=blocked - now, remaining=0)
        if quota is None or quota.limit <= 0:
            return Admission(allowed=True)
        admission, new_tat = _gcra(self._tat.get(key), now=now, quota=quota, burst=burst)
        if new_tat is not None:
            self._tat[key] = new_tat
        return admission

    async def block(self, key: str, *, now: float, until: float) -> None:
        if until > self._blocked.get(key, 0.0):
            self._blocked[key] = until

    async def forget(self, key: str) -> None:
        self._tat.pop(key, None)
        self._blocked.pop(key, None)


_TAKE = """
local now = tonumber(ARGV[1])
local blocked = tonumber(redis.call('GET', KEYS[2]) or '0')
if blocked > now then
  return {0, string.format('%.17g', blocked - now), '0'}
end
local limit = tonumber(ARGV[2])
if limit <= 0 then
  return {1, '0', ''}
end
local interval = tonumber(ARGV[3]) / limit
local burst = tonumber(ARGV[4])
local tat = tonumber(redis.call('GET', KEYS[1]) or ARGV[1])
if tat < now then tat = now end
local new_tat = tat + interval
local allow_at = new_tat - burst * interval
if now + 0.000001 < allow_at then
  return {0, string.format('%.17g', allow_at - now), '0'}
end
redis.call('SET', KEYS[1], string.format('%.17g', new_tat), 'PX', math.ceil((new_tat - now) * 1000) + 1)
return {1, '0', tostring(math.floor((now - allow_at) / interval + 0.000001))}
"""

_BLOCK = """
local now = tonumber(ARGV[1])
local untl = tonumber(ARGV[2])
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if untl > current and untl > now then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', math.ceil((untl - now) * 1000) + 1)
end
return 1
"""


class RedisRateLimitStore:
    """Limiter state in Redis; each operation is one Lua script, so replicas share one quota.

    Keys: ``<prefix>ratelimit:<key>:tat`` and ``<prefix>ratelimit:<key>:blocked``, each expiring
    when it stops mattering. When Redis cannot be reached, this replica keeps limiting on its own
    (an in-process store) and leaves Redis alone for ``retry_after_failure_s``, so a Redis outage
    costs one timeout per interval, not one per upstream call; each switch is logged once.
    """

    def __init__(
        self,
        redis: Redis,
        *,
        key_prefix: str,
        retry_after_failure_s: float = 5.0,
        clock: Clock = time.monotonic,
    ) -> None:
        self._redis = redis
        self._prefix = f"{key_prefix}ratelimit:"
        self._take = redis.register_script(_TAKE)
        self._block = redis.register_script(_BLOCK)
        self._local = MemoryRateLimitStore()
        self._retry_after_failure_s = retry_after_failure_s
        self._clock = clock
        self._local_until: float | None = None

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

    async def close(self) -> None:
        await self._redis.aclose()

    async def take(self, key: str, *, now: float, quota: Quota | None, burst: int) -> Admission:
        if self._use_local():
            return await self._local.take(key, now=now, quota=quota, burst=burst)
        limit, window = (quota.limit, quota.window_s) if quota else (0, 1.0)
        keys = [f"{self._prefix}{key}:tat", f"{self._prefix}{key}:blocked"]
        try:
            allowed, retry_after, remaining = await self._take(keys=keys, args=[repr(now), limit, repr(window), burst])
        except RedisError as exc:
            self._failed(exc)
            return await self._local.take(key, now=now, quota=quota, burst=burst)
        return Admission(
            allowed=bool(int(allowed)),
            retry_after_s=float(retry_after),
            remaining=int(remaining) if remaining not in (b"", "") else None,
        )

    async def block(self, key: str, *, now: float, until: float) -> None:
        await self._local.block(key, now=now, until=until)
        if self._use_local():
            return
        try:
            await self._block(keys=[f"{self._prefix}{key}:blocked"], args=[repr(now), repr(until)])
        except RedisError as exc:
            self._failed(exc)

    async def forget(self, key: str) -> None:
        await self._local.forget(key)
        try:
            await self._redis.delete(f"{self._prefix}{key}:tat", f"{self._prefix}{key}:blocked")
        except RedisError as exc:
            self._failed(exc)
