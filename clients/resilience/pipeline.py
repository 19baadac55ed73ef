"""One upstream's resilience pipeline. For each attempt, in this order:

    deadline check -> rate limiter -> bulkhead -> circuit breaker -> attempt with its own timeout

and around all of it, retry (idempotent calls only, retryable classes only, within the retry
budget and the request's deadline). The gateway's own rejections (``error.local``) are never
retried and never count as upstream failures.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TypeVar

import structlog
from opentelemetry.trace import Span, Status, StatusCode

from clients.call_records import ANY_ROUTE, AttemptState, UpstreamCall, attempting, current_record
from clients.errors import (
    DeadlineExceeded,
    RateLimited,
    UpstreamAuthFailed,
    UpstreamError,
    UpstreamStatusError,
    UpstreamTimeout,
)
from clients.instruments import UpstreamInstruments
from clients.resilience import deadline
from clients.resilience.breaker import BreakerPolicy, CircuitBreaker, Permit
from clients.resilience.breaker_board import RedisBreakerBoard
from clients.resilience.bulkhead import Bulkhead, BulkheadPolicy
from clients.resilience.clock import TimeSource
from clients.resilience.fleet_breaker import FleetBreaker
from clients.resilience.ratelimit import RateLimiter, RateLimitPolicy
from clients.resilience.ratelimit_headers import RateLimitInfo
from clients.resilience.ratelimit_store import MemoryRateLimitStore, RateLimitStore
from clients.resilience.retry import Backoff, RetryBudget, RetryPolicy, is_retryable
from clients.resilience.timeout import AttemptTimeout
from clients.spans import add_event, call_span

T = TypeVar("T")

Attempt = Callable[[], Awaitable[T]]
"""One try: auth flow + send. Raises ``UpstreamError`` on failure; the pipeline bounds its time."""


@dataclass(frozen=True, kw_only=True)
class ResiliencePolicy:
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    breaker: BreakerPolicy = field(default_factory=BreakerPolicy)
    bulkhead: BulkheadPolicy = field(default_factory=BulkheadPolicy)
    rate_limit: RateLimitPolicy = field(default_factory=RateLimitPolicy)


def _counts_as_failure(error: UpstreamError) -> bool | None:
    """True: the upstream failed; False: it answered; None: no verdict (ours, a 429, refused
    credentials, or an error a nested pipeline has judged already)."""
    if error.local or error.final or isinstance(error, RateLimited | UpstreamAuthFailed):
        return None
    return not isinstance(error, UpstreamStatusError)


log = structlog.get_logger("mobius.upstreams")


class Pipeline:
    def __init__(
        self,
        *,
        upstream: str,
        policy: ResiliencePolicy,
        timeout_s: float,
        store: RateLimitStore | None = None,
        time: TimeSource | None = None,
    ) -> None:
        self.upstream = upstream
        self.policy = policy
        self.timeout_s = timeout_s
        self._time = time or TimeSource()
        self._store = store or MemoryRateLimitStore()
        self._board: RedisBreakerBoard | None = None
        self._build()
        self.last_error: str | None = None

    def join_fleet(self, board: RedisBreakerBoard) -> None:
        """Open, probe and close with every process on ``board`` (unless the policy keeps it local)."""
        self._board = board
        self.breaker = self._new_breaker()

    def _new_breaker(self) -> CircuitBreaker:
        policy, clock = self.policy.breaker, self._time
        if self._board is not None and policy.fleet:
            return FleetBreaker(
                upstream=self.upstream, policy=policy, clock=clock.monotonic, board=self._board, wall=clock.wall
            )
        return CircuitBreaker(upstream=self.upstream, policy=policy, clock=clock.monotonic)

    def _build(self) -> None:
        policy, clock = self.policy, self._time
        self.breaker = self._new_breaker()
        self.bulkhead = Bulkhead(upstream=self.upstream, policy=policy.bulkhead)
        self.limiter = RateLimiter(
            upstream=self.upstream,
            policy=policy.rate_limit,
            store=self._store,
            wall_clock=clock.wall,
            sleep=clock.sleep,
        )
        self.budget = RetryBudget(ratio=policy.retry.budget_ratio, max_tokens=policy.retry.budget_max_tokens)
        self._backoff = Backoff(policy.retry, clock.random)
        self._metrics = UpstreamInstruments(self.upstream)
        self._metrics.retry_budget(self.budget.tokens)

    async def reset(self) -> None:
        """Forget breaker, budget and learned limits (an operator action, and test isolation)."""
        self.breaker.reset()
        await self._store.forget(self.limiter.key)
        self._build()
        self.last_error = None

    def clock(self) -> float:
        """The monotonic clock the breaker's transitions are timed by."""
        return self._time.monotonic()

    def observe(self, status: int, headers: Mapping[str, str]) -> Awaitable[RateLimitInfo]:
        """Attempts report every response's status and headers, so the limiter learns."""
        return self.limiter.observe(status, headers)

    def observe_now(self, status: int, headers: Mapping[str, str]) -> RateLimitInfo | None:
        """``observe`` when it needs no I/O (the usual case: nothing to hold back); None: await ``observe``."""
        return self.limiter.observe_now(status, headers)

    async def call(self, attempt: Attempt[T], *, idempotent: bool, route: str = ANY_ROUTE) -> T:
        """``route`` is what the call asks of the upstream as declared (``GET /v1/users/{id}``),
        never a raw path: it labels the call's metrics, span and log entries. The retries run in
        this coroutine (one coroutine less for every resume of the attempt)."""
        started = time.perf_counter()
        tries = 0
        with call_span(self.upstream, route) as current:
            if self.budget.deposit():
                self._metrics.retry_budget(self.budget.tokens)
            while True:
                tries += 1
                try:
                    result = await self._once(attempt, route)
                except UpstreamError as error:
                    self.last_error = error.code
                    delay = self._retry_delay(error, tries - 1, idempotent=idempotent)
                    if delay is None:
                        error.final = True
                        self._failed(route, started, error, tries, current)
                        raise
                    self._metrics.retry(error.code)
                    self._metrics.retry_budget(self.budget.tokens)
                    add_event("retry", {"mobius.retry": tries, "error.type": error.code, "mobius.delay_s": delay})
                    await self._time.sleep(delay)
                else:
                    self._finished(route, started, "ok", tries, current)
                    return result

    def _failed(self, route: str, started: float, error: UpstreamError, attempts: int, current: Span | None) -> None:
        self._finished(route, started, error.code, attempts, current)
        log.warning(
            "upstream_call_failed",
            upstream=self.upstream,
            route=route,
            code=error.code,
            status=getattr(error, "status", None),
            attempts=attempts,
            duration_ms=round((time.perf_counter() - started) * 1000, 3),
        )

    def _finished(self, route: str, started: float, outcome: str, attempts: int, current: Span | None) -> None:
        duration_ms = (time.perf_counter() - started) * 1000
        if outcome != "ok":
            self._metrics.failure(route, outcome)
        record = current_record()
        if record is not None:
            record.upstream_calls.append(UpstreamCall(self.upstream, route, duration_ms, outcome, attempts))
        if current is not None:
            current.set_attributes({"mobius.upstream": self.upstream, "mobius.route": route, "mobius.outcome": outcome})
            if outcome != "ok":
                current.set_status(Status(StatusCode.ERROR))
                current.set_attribute("error.type", outcome)

    def _retry_delay(self, error: UpstreamError, retries: int, *, idempotent: bool) -> float | None:
        """The wait before the next attempt, or None when the error is the answer."""
        if not (idempotent and is_retryable(error)) or retries + 1 >= self.policy.retry.attempts:
            return None
        delay = self._backoff.delay_s(retries + 1, error)
        left = deadline.remaining_s()
        if delay is None or (left is not None and delay >= left) or not self.budget.try_spend():
            return None
        return delay

    async def _once(self, attempt: Attempt[T], route: str) -> T:
        """One attempt through the limiter, the bulkhead and the breaker, under its own timeout
        (one coroutine: every layer is passed through again each time the attempt resumes)."""
        timeout_s, by_deadline = deadline.bounded_timeout(self.timeout_s, upstream=self.upstream)
        if not self.limiter.admit_now():
            await self.limiter.acquire()
            timeout_s, by_deadline = deadline.bounded_timeout(self.timeout_s, upstream=self.upstream)
        bulkhead = self.bulkhead
        queued = not bulkhead.take()
        if queued:
            await bulkhead.wait(max_wait_s=timeout_s)
        try:
            if queued:
                timeout_s, by_deadline = deadline.bounded_timeout(self.timeout_s, upstream=self.upstream)
            permit = self.breaker.admit_now()
            if permit is None:
                permit = await self.breaker.admit()
            with attempting(self._metrics, route) as state:
                sent = time.perf_counter()
                started = self._time.monotonic()
                try:
                    with AttemptTimeout(timeout_s):
                        result = await attempt()
                except TimeoutError:
                    timed_out: UpstreamError
                    if by_deadline:
                        permit.release()
                        timed_out = DeadlineExceeded(
                            f"the request's deadline ended the call after {timeout_s:.3g} s", upstream=self.upstream
                        )
                    else:
                        permit.failure(self._time.monotonic() - started)
                        timed_out = UpstreamTimeout(
                            f"no answer within the {timeout_s:.3g} s timeout", upstream=self.upstream
                        )
                    self._unanswered(timed_out, state, route, sent)
                    raise timed_out from None
                except UpstreamError as error:
                    self._judged(permit, error, started)
                    self._unanswered(error, state, route, sent)
                    raise
                except BaseException:
                    permit.release()
                    raise
                permit.success(self._time.monotonic() - started)
                return result
        finally:
            bulkhead.release()

    def _judged(self, permit: Permit, error: UpstreamError, started: float) -> None:
        """The breaker told what ``error`` says of the upstream: a failure, an answer, or nothing."""
        verdict = _counts_as_failure(error)
        if verdict is None:
            permit.release()
        elif verdict:
            permit.failure(self._time.monotonic() - started)
        else:
            permit.success(self._time.monotonic() - started)

    def _unanswered(self, error: UpstreamError, state: AttemptState, route: str, sent: float) -> None:
        """Count an attempt that was sent and got no answer back (our own refusals were not sent)."""
        if not error.local and not state.answers:
            self._metrics.request(route, "error", time.perf_counter() - sent)
