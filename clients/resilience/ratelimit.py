"""A client-side rate limiter per (upstream, credential id), configured statically and learned
from the upstream's responses, so the gateway stops sending before the upstream says 429.

The credential id is a configured name (e.g. the OAuth client id), never the secret itself.

What is learned lasts only while the upstream keeps saying it: a block ("0 remaining", a 429's
``Retry-After``) ends at the advertised reset; a quota learned from ``RateLimit-Policy`` ends at
the reset advertised with it (else one window) after the last response that carried it; a reported
remaining count is shown until its reset.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import structlog

from clients.errors import RateLimitedLocally
from clients.instruments import UpstreamInstruments
from clients.resilience import deadline
from clients.resilience.clock import Clock, Sleep
from clients.resilience.ratelimit_headers import NOTHING, Quota, RateLimitInfo, parse_rate_limit
from clients.resilience.ratelimit_store import Limit, RateLimitStore, WindowKind


@dataclass(frozen=True, kw_only=True)
class RateLimitPolicy:
    """At most ``limit`` calls in any ``window`` (``sliding``: any interval of ``window_s``;
    ``fixed``: each aligned window of ``window_s``, as the upstream counts) -- None: only what the
    upstream teaches, counted in windows of the same kind. With ``burst``, at most that many go out
    back to back, the rest paced at ``window_s / limit``. A caller waits for a slot when the wait is
    at most ``max_wait_s`` and fits the request's deadline; otherwise it gets ``RATE_LIMITED`` with
    ``retryAfter`` at once."""

    limit: int | None = None
    window_s: float = 1.0
    window: WindowKind = "sliding"
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
        self._static = (
            None
            if policy.limit is None
            else Limit(limit=policy.limit, window_s=policy.window_s, kind=policy.window, burst=policy.burst)
        )
        self._learned: Limit | None = None
        self._learned_until = 0.0
        self._remaining: int | None = None
        self._remaining_until: float | None = None
        self._metrics = UpstreamInstruments(upstream)

    def _limit(self, now: float) -> Limit | None:
        """The limit in force: the configured one, else a learned one until it expires."""
        if self._static is not None:
            return self._static
        learned = self._learned
        if learned is not None and now >= self._learned_until:
            self._learned = learned = None
            log.info("upstream_rate_limit_policy_expired", upstream=self.upstream, quota_key=self.key)
        return learned

    @property
    def quota(self) -> Quota | None:
        limit = self._limit(self._clock())
        return None if limit is None else Quota(limit=limit.limit, window_s=limit.window_s)

    @property
    def remaining(self) -> int | None:
        """What the upstream (or our own quota) last said is left, until the reset it gave."""
        if self._remaining_until is not None and self._clock() >= self._remaining_until:
            self._remaining = self._remaining_until = None
        return self._remaining

    def admit_now(self) -> bool:
        """True when a call may go out now, as the store says at once (the usual case: no limit
        spent, and no I/O to ask); False: ``acquire`` decides, waiting or refusing."""
        now = self._clock()
        limit = self._limit(now)
        admission = self._store.take_now(self.key, now=now, limit=limit)
        if admission is None or not admission.allowed:
            return False
        if admission.remaining is not None and limit is self._static:
            self._remaining, self._remaining_until = admission.remaining, None
        return True

    async def acquire(self) -> None:
        """Return when a call may go out; else ``RateLimitedLocally`` saying when to come back."""
        for _ in range(_MAX_WAITS + 1):
            now = self._clock()
            limit = self._limit(now)
            admission = await self._store.take(self.key, now=now, limit=limit)
            if admission.allowed:
                if admission.remaining is not None and limit is self._static:
                    self._remaining, self._remaining_until = admission.remaining, None
                return
            wait = admission.retry_after_s
            left = deadline.remaining_s()
            if wait > self.policy.max_wait_s or (left is not None and wait >= left):
                self._metrics.rate_limit_rejected()
                raise RateLimitedLocally(
                    "holding back: the upstream's rate limit is spent",
                    upstream=self.upstream,
                    retry_after_s=round(wait, 3),
                )
            self._metrics.rate_limit_wait(wait)
            await self._sleep(wait)
        self._metrics.rate_limit_rejected()
        raise RateLimitedLocally("holding back: the upstream's rate limit is spent", upstream=self.upstream)

    def note_remaining(self, remaining: int) -> None:
        """A remaining count reported outside headers (e.g. a GraphQL ``extensions.rateLimit``)."""
        self._remaining, self._remaining_until = remaining, None

    async def hold(self, seconds: float) -> None:
        """Send nothing for ``seconds`` (a limit reported outside headers, e.g. in a GraphQL error)."""
        now = self._clock()
        await self._store.block(self.key, now=now, until=now + seconds)

    def observe_now(self, status: int, headers: Mapping[str, str]) -> RateLimitInfo | None:
        """``observe`` when the response says to hold nothing back (the usual case: no I/O, no
        coroutine); None: ``observe`` must be awaited (a 429, a spent quota)."""
        now = self._clock()
        info = parse_rate_limit(headers, wall_now=now)
        if not self.policy.learn or (info is NOTHING and status != 429):
            return info
        if status == 429 or info.block_s is not None:
            return None
        self._learn_from(info, now=now)
        return info

    async def observe(self, status: int, headers: Mapping[str, str]) -> RateLimitInfo:
        """Learn from one response's headers (every response, success or not)."""
        now = self._clock()
        info = parse_rate_limit(headers, wall_now=now)
        if not self.policy.learn or (info is NOTHING and status != 429):
            return info
        self._learn_from(info, now=now)
        block = info.block_s
        if block is None and status == 429:
            limit = self._limit(now)
            block = limit.window_s if limit else 1.0
        if block is not None and block > 0:
            await self._store.block(self.key, now=now, until=now + block)
            log.info("upstream_rate_limit_reached", upstream=self.upstream, quota_key=self.key, hold_s=block)
        return info

    def _learn_from(self, info: RateLimitInfo, *, now: float) -> None:
        """What is left and the quota, as one response's headers say them."""
        if info.remaining is not None:
            self._remaining = info.remaining
            self._remaining_until = None if info.reset_s is None else now + info.reset_s
        if info.quota is not None and info.quota.limit > 0:
            self._learn(info.quota, now=now, reset_s=info.reset_s)

    def _learn(self, quota: Quota, *, now: float, reset_s: float | None) -> None:
        """Hold ``quota`` until the reset advertised with it (at most one window): a response
        carrying it again renews it, and an upstream that stops saying it is free of it then."""
        learned = self._learned
        if learned is None or learned.limit != quota.limit or learned.window_s != quota.window_s:
            self._learned = Limit(
                limit=quota.limit, window_s=quota.window_s, kind=self.policy.window, burst=self.policy.burst
            )
        lifetime = quota.window_s if reset_s is None else min(reset_s, quota.window_s)
        self._learned_until = now + lifetime
