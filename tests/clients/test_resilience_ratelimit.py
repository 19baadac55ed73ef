"""The client-side rate limiter: quotas that hold in every fixed or sliding window, learned
policies and their expiry, deadlines against waits, and what is admitted at once."""

from __future__ import annotations

import asyncio
import math
import random
from bisect import bisect_left
from collections import Counter
from collections.abc import Sequence

import pytest

from clients.errors import RateLimitedLocally
from clients.resilience.deadline import deadline_scope
from clients.resilience.ratelimit import RateLimiter
from clients.resilience.ratelimit_headers import Quota
from clients.resilience.ratelimit_store import (
    MemoryRateLimitStore,
    WindowKind,
)
from tests.clients.resilience_support import EPOCH, FakeTime, StoreFor, admitted, exact_time, limiter, retry_after


async def test_after_zero_remaining_nothing_goes_out_until_the_reset(store_for: StoreFor) -> None:
    time = FakeTime()
    limit = limiter(time, store_for(time))
    await limit.acquire()
    await limit.observe(200, {"RateLimit": "limit=5, remaining=0, reset=30"})

    assert await retry_after(limit) == pytest.approx(30)
    time.advance(29.9)
    with pytest.raises(RateLimitedLocally):
        await limit.acquire()
    assert limit.remaining == 0

    time.advance(0.2)
    await limit.acquire()
    assert limit.remaining is None, "what the upstream said ended with its reset"


async def test_a_429_retry_after_holds_calls_back(store_for: StoreFor) -> None:
    time = FakeTime()
    limit = limiter(time, store_for(time))
    await limit.observe(429, {"Retry-After": "3"})

    assert await retry_after(limit) == pytest.approx(3)


async def test_a_short_wait_that_fits_the_deadline_is_waited_out() -> None:
    time = FakeTime()
    limit = limiter(time, MemoryRateLimitStore(), max_wait_s=1.0)
    await limit.observe(429, {"Retry-After": "0.5"})

    with deadline_scope(2.0, time.monotonic):
        await limit.acquire()

    assert time.slept == [pytest.approx(0.5)]


async def test_a_wait_longer_than_the_deadline_is_refused_at_once() -> None:
    time = FakeTime()
    limit = limiter(time, MemoryRateLimitStore(), max_wait_s=1.0)
    await limit.observe(429, {"Retry-After": "0.5"})

    with deadline_scope(0.4, time.monotonic), pytest.raises(RateLimitedLocally):
        await limit.acquire()

    assert time.slept == []


async def test_a_sliding_quota_admits_a_call_as_an_earlier_one_leaves_the_window(store_for: StoreFor) -> None:
    time = exact_time()
    limit = limiter(time, store_for(time), limit=5, window_s=1.0)
    assert await admitted(limit, 3) == 3
    time.advance(0.5)
    assert await admitted(limit, 2) == 2
    assert limit.remaining == 0

    assert await retry_after(limit) == 0.5, "until the first three are a whole window old"
    time.advance(0.5)
    assert await admitted(limit, 5) == 3
    assert await retry_after(limit) == 0.5


async def test_a_fixed_quota_starts_afresh_at_each_aligned_window(store_for: StoreFor) -> None:
    time = exact_time()
    time.advance(0.75)
    limit = limiter(time, store_for(time), limit=5, window_s=1.0, window="fixed")
    assert await admitted(limit, 7) == 5

    assert await retry_after(limit) == 0.25, "until the window the upstream counts in ends"
    time.advance(0.25)
    assert await admitted(limit, 7) == 5
    assert limit.remaining == 0


async def test_a_burst_paces_the_rest_and_the_window_still_caps_it(store_for: StoreFor) -> None:
    time = exact_time()
    limit = limiter(time, store_for(time), limit=5, window_s=1.0, burst=2)
    assert await admitted(limit, 3) == 2
    assert await retry_after(limit) == pytest.approx(0.2)
    for _ in range(3):
        time.advance(0.25)
        assert await admitted(limit, 2) == 1, "one per window_s / limit after the burst"

    time.advance(0.125)
    assert await retry_after(limit) == 0.125, "five in this window already, paced or not"


async def test_a_learned_policy_becomes_the_quota(store_for: StoreFor) -> None:
    time = FakeTime()
    limit = limiter(time, store_for(time))
    await limit.observe(200, {"RateLimit-Policy": "2;w=1", "RateLimit": "limit=2, remaining=2, reset=1"})

    assert limit.quota == Quota(limit=2, window_s=1)
    assert await admitted(limit, 3) == 2


async def test_a_learned_policy_ends_at_the_reset_advertised_with_it(store_for: StoreFor) -> None:
    time = FakeTime()
    limit = limiter(time, store_for(time))
    await limit.observe(200, {"RateLimit-Policy": "2;w=10", "RateLimit": "limit=2, remaining=1, reset=4"})
    assert await admitted(limit, 3) == 2

    time.advance(3.9)
    assert limit.quota == Quota(limit=2, window_s=10)
    time.advance(0.1)

    assert limit.quota is None
    assert await admitted(limit, 10) == 10


async def test_a_policy_lives_one_window_past_the_last_response_that_carried_it(store_for: StoreFor) -> None:
    time = FakeTime()
    limit = limiter(time, store_for(time))
    await limit.observe(200, {"RateLimit-Policy": "100;w=10"})
    time.advance(9)
    await limit.observe(200, {"RateLimit-Policy": "100;w=10"})  # renewed: no reset given, so one window
    time.advance(9)
    await limit.observe(200, {})  # the upstream stopped saying it
    assert limit.quota == Quota(limit=100, window_s=10)

    time.advance(1)

    assert limit.quota is None


async def test_a_reported_remaining_count_is_shown_until_its_reset() -> None:
    time = FakeTime()
    limit = limiter(time, MemoryRateLimitStore())
    await limit.observe(200, {"X-RateLimit-Remaining": "3", "X-RateLimit-Reset": "5"})
    time.advance(4.9)
    assert limit.remaining == 3

    time.advance(0.1)

    assert limit.remaining is None


STEPS = (1 / 32, 1 / 16, 3 / 32, 1 / 8, 1 / 4, 3 / 8)
"""How far the fake clock moves between rounds of concurrent callers: exact in binary, and uneven
so that rounds fall on, just before and just after window boundaries."""


def busiest_window(times: Sequence[float], *, window_s: float, kind: WindowKind) -> int:
    """The most calls in one window of ``kind``: each aligned window for fixed; for sliding, every
    position (the busiest half-open window starts at a call, so those are the ones to count)."""
    if kind == "fixed":
        return max(Counter(math.floor(t / window_s) for t in times).values(), default=0)
    ordered = sorted(times)
    return max((bisect_left(ordered, t + window_s) - i for i, t in enumerate(ordered)), default=0)


async def drive(
    limiters: Sequence[RateLimiter], time: FakeTime, *, callers: int, rounds: int, seed: int
) -> list[float]:
    """Rounds of ``callers`` concurrent acquisitions spread over ``limiters``; the admission times."""
    steps = random.Random(seed)
    times: list[float] = []

    async def call(limit: RateLimiter) -> None:
        try:
            await limit.acquire()
        except RateLimitedLocally:
            return
        times.append(time.wall())

    for _ in range(rounds):
        await asyncio.gather(*(call(limiters[n % len(limiters)]) for n in range(callers)))
        time.advance(steps.choice(STEPS))
    return times


@pytest.mark.parametrize("kind", ["fixed", "sliding"])
async def test_concurrent_callers_on_two_limiters_never_exceed_the_quota_in_any_window(
    store_for: StoreFor, kind: WindowKind
) -> None:
    time = exact_time()
    replicas = [limiter(time, store_for(time), limit=5, window_s=1.0, window=kind) for _ in range(2)]

    times = await drive(replicas, time, callers=12, rounds=80, seed=17)

    assert busiest_window(times, window_s=1.0, kind=kind) == 5
    elapsed = time.wall() - EPOCH
    assert len(times) >= 5 * math.floor(elapsed / (1.0 + max(STEPS))), "and the quota is used, not starved"


async def test_the_default_sliding_window_also_holds_against_a_fixed_window_of_any_phase(
    store_for: StoreFor,
) -> None:
    time = exact_time()
    replicas = [limiter(time, store_for(time), limit=5, window_s=1.0) for _ in range(2)]

    times = await drive(replicas, time, callers=12, rounds=60, seed=5)

    for phase in (0.0, 1 / 32, 0.25, 0.5, 31 / 32):
        assert busiest_window([t - phase for t in times], window_s=1.0, kind="fixed") <= 5


async def test_what_admits_at_once_admits_and_refuses_as_acquire_does(store_for: StoreFor) -> None:
    """The pipeline asks ``admit_now`` first and awaits ``acquire`` only when it says no."""
    time = exact_time()
    limit = limiter(time, store_for(time), limit=2, window_s=1.0)

    admitted_at_once = [limit.admit_now() or await admitted(limit, 1) == 1 for _ in range(3)]
    assert admitted_at_once == [True, True, False]
    assert limit.remaining == 0
    assert not limit.admit_now(), "a refusal counts nothing"
    time.advance(1.0)
    assert limit.admit_now() or await admitted(limit, 1) == 1


async def test_a_block_is_not_admitted_at_once(store_for: StoreFor) -> None:
    time = FakeTime()
    limit = limiter(time, store_for(time))
    await limit.observe(429, {"Retry-After": "3"})

    assert not limit.admit_now()
    assert await retry_after(limit) == pytest.approx(3)
