"""A client-side rate limiter per (upstream, credential id), configured statically and learned
from the upstream's responses, so the gateway stops sending before the upstream says 429.

The credential id is a configured name (e.g. the OAuth client id), never the secret itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import structlog

from clients.errors import RateLimitedLocally
from clients.resilience import deadline
from clients.resilience.clock import Clock, Sleep
from clients.resilience.ratelimit_headers import Quota, RateLimitInfo, parse_rate_limit
from clients.resilience.ratelimit_store import RateLimitStore


@dataclass(frozen=True, kw_only=True)
class RateLimitPolicy:
    """``limit`` calls per ``window_s`` (None: only what the upstream teaches); ``burst`` defaults
    to ``limit``. A caller waits for a slot when the wait is at most ``max_wait_s`` and fits the
    request's deadline; otherwise it gets ``RATE_LIMITED`` with ``retryAfter`` at once."""

    limit: int | None = None
    window_s: float = 1.0
    burst: int | None = None
    learn: bool = True
    max_wait_s: float = 0.0
    credential_id: str = "default"


_MAX_WAITS = 3

log = structlog.get_logger("mobius.ratelimit")


class RateLimiter:
    def __init__(
        self, *, upstream: str, policy: RateLimitPolicy, store: RateLimitStore, wall_clock: Clock, sleep: Sleep
    ) -> None:
        self.upstream = upstream
        self.policy = policy
        self.key = f"{upstream}:{policy.credential_id}"
        self._store = store
        self._clock = wall_clock
        self._sleep = sleep
        self._learned: Quota | None = None
        self._remaining: int | None = None

    @property
    def quota(self) -> Quota | None:
        if self.policy.limit is not None:
            return Quota(limit=self.policy.limit, window_s=self.policy.window_s)
        return self._learned

    @property
    def remaining(self) -> int | None:
        """What the upstream (or our own quota) last said is left."""
        return self._remaining

    async def acquire(self) -> None:
        """Return when a call may go out; else ``RateLimitedLocally`` saying when to come back."""
        quota = self.quota
        burst = self.policy.burst or (quota.limit if quota else 1)
        for _ in range(_MAX_WAITS + 1):
            admission = await self._store.take(self.key, now=self._clock(), quota=quota, burst=burst)
            if admission.allowed:
                if admission.remaining is not None and self.policy.limit is not None:
                    self._remaining = admission.remaining
                return
            wait = admission.retry_after_s
            left = deadline.remaining_s()
            if wait > self.policy.max_wait_s or (left is not None and wait >= left):
                raise RateLimitedLocally(
                    "holding back: the upstream's rate limit is spent",
                    upstream=self.upstream,
                    retry_after_s=round(wait, 3),
                )
            await self._sleep(wait)
        raise RateLimitedLocally("holding back: the upstream's rate limit is spent", upstream=self.upstream)

    def note_remaining(self, remaining: int) -> None:
        """A remaining count reported outside headers (e.g. a GraphQL ``extensions.rateLimit``)."""
        self._remaining = remaining

    async def hold(self, seconds: float) -> None:
        """Send nothing for ``seconds`` (a limit reported outside headers, e.g. in a GraphQL error)."""
        now = self._clock()
        await self._store.block(self.key, now=now, until=now + seconds)

    async def observe(self, status: int, headers: Mapping[str, str]) -> RateLimitInfo:
        """Learn from one response's headers (every response, success or not)."""
        now = self._clock()
        info = parse_rate_limit(headers, wall_now=now)
        if not self.policy.learn:
            return info
        if info.remaining is not None:
            self._remaining = info.remaining
        if info.quota is not None:
            self._learned = info.quota
        block = info.block_s
        if block is None and status == 429:
            block = self.quota.window_s if self.quota else 1.0
        if block is not None and block > 0:
            await self._store.block(self.key, now=now, until=now + block)
            log.info("upstream_rate_limit_reached", upstream=self.upstream, quota_key=self.key, hold_s=block)
        return info
