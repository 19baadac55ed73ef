"""Retry: backoff with full jitter, Retry-After first, idempotency, the budget and the deadline."""

from __future__ import annotations

import random

import pytest

from clients.errors import (
    CircuitOpen,
    DeadlineExceeded,
    RateLimited,
    RateLimitedLocally,
    UpstreamError,
    UpstreamServerError,
    UpstreamStatusError,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from clients.resilience.breaker import BreakerPolicy
from clients.resilience.deadline import deadline_scope
from clients.resilience.pipeline import Pipeline, ResiliencePolicy
from clients.resilience.retry import Backoff, RetryBudget, RetryPolicy
from tests.clients.resilience_support import FakeTime

LENIENT_BREAKER = BreakerPolicy(minimum_calls=1000, window_size=1000)


def pipeline(time: FakeTime, retry: RetryPolicy) -> Pipeline:
    policy = ResiliencePolicy(retry=retry, breaker=LENIENT_BREAKER)
    return Pipeline(upstream="billing", policy=policy, timeout_s=5.0, time=time.source())


class Script:
    """An attempt that raises the given errors in turn, then answers "ok"."""

    def __init__(self, *errors: UpstreamError) -> None:
        self.errors = list(errors)
        self.calls = 0

    async def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "ok"


def unavailable() -> UpstreamUnavailable:
    return UpstreamUnavailable("upstream answered 503", upstream="billing")


def test_full_jitter_stays_under_the_exponential_ceiling_and_the_cap() -> None:
    policy = RetryPolicy(base_s=0.1, cap_s=0.5)
    backoff = Backoff(policy, random.Random(7).random)
    error = unavailable()

    delays = {n: [backoff.delay_s(n, error) for _ in range(200)] for n in (1, 2, 3, 6)}

    for n, ceiling in ((1, 0.1), (2, 0.2), (3, 0.4), (6, 0.5)):
        assert all(0 <= d <= ceiling for d in delays[n] if d is not None)
        assert max(d for d in delays[n] if d is not None) > 0.8 * ceiling  # jitter spans the range


def test_retry_after_takes_precedence_over_backoff_up_to_the_policy_bound() -> None:
    backoff = Backoff(RetryPolicy(base_s=0.1, cap_s=0.5, max_retry_after_s=2.0), random.Random(1).random)

    assert backoff.delay_s(1, RateLimited("slow down", upstream="billing", retry_after_s=1.5)) == 1.5
    assert backoff.delay_s(1, RateLimited("slow down", upstream="billing", retry_after_s=30)) is None


def test_the_budget_allows_retries_up_to_its_ratio_plus_its_size() -> None:
    budget = RetryBudget(ratio=0.2, max_tokens=10)
    spent = 0
    for _ in range(1000):
        budget.deposit()
        spent += budget.try_spend()

    assert spent <= 0.2 * 1000 + 10
    assert spent >= 0.2 * 1000


async def test_a_transient_failure_is_retried_after_a_jittered_backoff() -> None:
    time = FakeTime()
    attempt = Script(unavailable(), unavailable())

    assert await pipeline(time, RetryPolicy(attempts=3, base_s=0.1, cap_s=1)).call(attempt, idempotent=True) == "ok"

    assert attempt.calls == 3
    assert len(time.slept) == 2
    assert 0 <= time.slept[0] <= 0.1
    assert 0 <= time.slept[1] <= 0.2


async def test_the_upstreams_retry_after_is_waited_instead_of_the_backoff() -> None:
    time = FakeTime()
    attempt = Script(RateLimited("slow down", upstream="billing", retry_after_s=1.5))

    assert await pipeline(time, RetryPolicy(attempts=3)).call(attempt, idempotent=True) == "ok"

    assert time.slept == [1.5]


async def test_a_retry_after_beyond_the_deadline_is_not_waited_for() -> None:
    time = FakeTime()
    attempt = Script(RateLimited("slow down", upstream="billing", retry_after_s=1.5))

    with deadline_scope(1.0, time.monotonic), pytest.raises(RateLimited) as caught:
        await pipeline(time, RetryPolicy(attempts=3)).call(attempt, idempotent=True)

    assert caught.value.retry_after_s == 1.5
    assert attempt.calls == 1
    assert time.slept == []


@pytest.mark.parametrize(
    "error",
    [
        CircuitOpen("open", upstream="billing", retry_after_s=3),
        RateLimitedLocally("held back", upstream="billing", retry_after_s=3),
        DeadlineExceeded("no time left", upstream="billing"),
        UpstreamServerError("upstream answered 500", upstream="billing"),
        UpstreamStatusError("upstream answered 404", upstream="billing", status=404),
    ],
    ids=lambda error: type(error).__name__,
)
async def test_local_rejections_and_non_transient_errors_are_never_retried(error: UpstreamError) -> None:
    attempt = Script(error)

    with pytest.raises(type(error)):
        await pipeline(FakeTime(), RetryPolicy(attempts=3)).call(attempt, idempotent=True)

    assert attempt.calls == 1


async def test_a_non_idempotent_call_is_not_retried() -> None:
    attempt = Script(unavailable())

    with pytest.raises(UpstreamUnavailable):
        await pipeline(FakeTime(), RetryPolicy(attempts=3)).call(attempt, idempotent=False)

    assert attempt.calls == 1


async def test_attempts_are_bounded_by_the_policy() -> None:
    attempt = Script(*(UpstreamTimeout("slow", upstream="billing") for _ in range(10)))

    with pytest.raises(UpstreamTimeout):
        await pipeline(FakeTime(), RetryPolicy(attempts=4)).call(attempt, idempotent=True)

    assert attempt.calls == 4


async def test_an_exhausted_budget_stops_retries_so_an_outage_is_not_amplified() -> None:
    pipe = pipeline(FakeTime(), RetryPolicy(attempts=3, budget_ratio=0.2, budget_max_tokens=5))
    attempts = 0

    async def always_down() -> None:
        nonlocal attempts
        attempts += 1
        raise unavailable()

    for _ in range(100):
        with pytest.raises(UpstreamUnavailable):
            await pipe.call(always_down, idempotent=True)

    assert attempts <= 1.2 * 100 + 5
    assert pipe.budget.tokens < 1


async def test_no_retry_starts_once_the_deadline_has_passed() -> None:
    time = FakeTime()
    pipe = pipeline(time, RetryPolicy(attempts=3, base_s=0.01, cap_s=0.01))
    attempt = Script(unavailable(), unavailable())

    async def slow_attempt() -> str:
        time.advance(1.0)  # the attempt used the whole budget
        return await attempt()

    with deadline_scope(1.0, time.monotonic), pytest.raises(UpstreamUnavailable) as caught:
        await pipe.call(slow_attempt, idempotent=True)

    assert type(caught.value) is UpstreamUnavailable  # the upstream's error, not a retry's
    assert attempt.calls == 1
    assert time.slept == []


async def test_no_attempt_starts_without_budget() -> None:
    time = FakeTime()
    attempt = Script()

    pipe = pipeline(time, RetryPolicy())

    with deadline_scope(0.0, time.monotonic), pytest.raises(DeadlineExceeded) as caught:
        await pipe.call(attempt, idempotent=True)

    assert caught.value.code == "DEADLINE_EXCEEDED"
    assert attempt.calls == 0
