"""The client-side rate limiter: header parsing, learning and its expiry, quotas that hold in every
fixed or sliding window, and the Redis store that lets replicas share one quota without a round
trip per call when there is nothing to count."""

from __future__ import annotations

import asyncio
import math
import random
from bisect import bisect_left
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from email.utils import formatdate

import pytest
import redis.asyncio as redis
from multidict import CIMultiDict, CIMultiDictProxy
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.crc import key_slot

from clients.errors import RateLimitedLocally
from clients.resilience.deadline import deadline_scope
from clients.resilience.ratelimit import RateLimiter, RateLimitPolicy
from clients.resilience.ratelimit_headers import NOTHING, Quota, parse_rate_limit, parse_retry_after
from clients.resilience.ratelimit_store import (
    MemoryRateLimitStore,
    RateLimitStore,
    RedisRateLimitStore,
    WindowKind,
)
from tests.clients.resilience_support import FakeTime, StoreFor
from tests.clock import FakeClock

NOW = 1_764_000_000.0


def test_ietf_structured_field_and_policy_are_understood() -> None:
    info = parse_rate_limit(
        {"RateLimit": "limit=10, remaining=0, reset=30", "RateLimit-Policy": "10;w=1"}, wall_now=NOW
    )
    assert (info.remaining, info.reset_s, info.quota) == (0, 30, Quota(limit=10, window_s=1))
    assert info.block_s == 30


def test_the_newer_ietf_draft_shape_is_understood() -> None:
    info = parse_rate_limit(
        {"RateLimit": '"default";r=3;t=12', "RateLimit-Policy": '"default";q=100;w=60'}, wall_now=NOW
    )
    assert (info.remaining, info.reset_s, info.quota) == (3, 12, Quota(limit=100, window_s=60))
    assert info.block_s is None


@pytest.mark.parametrize(
    ("reset", "expected_s"),
    [("42", 42), (str(int(NOW) + 17), 17), (str(int(NOW * 1000) + 5000), 5), (str(int(NOW) - 5), 0)],
    ids=["delay", "epoch-seconds", "epoch-milliseconds", "epoch-in-the-past"],
)
def test_x_ratelimit_reset_is_read_as_delay_or_epoch(reset: str, expected_s: float) -> None:
    info = parse_rate_limit({"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset}, wall_now=NOW)
    assert info.remaining == 0
    assert info.reset_s == pytest.approx(expected_s)


@pytest.mark.parametrize("name", ["X-RateLimit-Remaining", "x-ratelimit-remaining", "X-RATELIMIT-REMAINING"])
def test_rate_limit_headers_are_read_whatever_their_case(name: str) -> None:
    headers = CIMultiDictProxy(CIMultiDict([("Content-Type", "application/json"), (name, "7")]))
    assert parse_rate_limit(headers, wall_now=NOW).remaining == 7


def test_a_response_without_rate_limit_headers_says_nothing() -> None:
    headers = CIMultiDictProxy(CIMultiDict([("Content-Type", "application/json"), ("Date", "x"), ("Server", "y")]))
    assert parse_rate_limit(headers, wall_now=NOW) is NOTHING
    assert parse_rate_limit({}, wall_now=NOW) is NOTHING


def test_retry_after_as_seconds_or_http_date() -> None:
    assert parse_retry_after("7", wall_now=NOW) == 7
    assert parse_retry_after(formatdate(NOW + 20, usegmt=True), wall_now=NOW) == pytest.approx(20)
    assert parse_retry_after("soon", wall_now=NOW) is None


EPOCH = 1_764_000_000.0
"""A whole second: fake wall clocks start here and move in steps exact in binary, so window
arithmetic in the test and in the stores agrees to the last bit."""


def exact_time() -> FakeTime:
    return FakeTime(wall=FakeClock(start=EPOCH))


def limiter(time: FakeTime, store: RateLimitStore, **policy: object) -> RateLimiter:
    return RateLimiter(
        upstream="billing",
        policy=RateLimitPolicy(credential_id="key-1", **policy),  # type: ignore[arg-type]
        store=store,
        wall_clock=time.wall,
        sleep=time.sleep,
    )


async def admitted(limit: RateLimiter, calls: int) -> int:
    count = 0
    for _ in range(calls):
        try:
            await limit.acquire()
        except RateLimitedLocally:
            continue
        count += 1
    return count


async def retry_after(limit: RateLimiter) -> float:
    with pytest.raises(RateLimitedLocally) as caught:
        await limit.acquire()
    assert caught.value.code == "RATE_LIMITED"
    return caught.value.retry_after_s or 0.0


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


@pytest.fixture
async def redis_client(redis_url: str) -> AsyncIterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url)
    try:
        yield client
    finally:
        await client.aclose()


async def test_two_limiters_on_redis_share_one_quota_in_one_cluster_slot(
    redis_client: redis.Redis, redis_prefix: str
) -> None:
    time = exact_time()
    replica_a = limiter(time, RedisRateLimitStore(redis_client, key_prefix=redis_prefix), limit=4, window_s=1.0)
    replica_b = limiter(time, RedisRateLimitStore(redis_client, key_prefix=redis_prefix), limit=4, window_s=1.0)

    assert await admitted(replica_a, 3) + await admitted(replica_b, 3) == 4
    assert await retry_after(replica_b) == 1.0
    time.advance(1.0)
    await replica_a.acquire()
    await replica_b.observe(429, {"Retry-After": "3"})

    keys = [key async for key in redis_client.scan_iter(match=f"{redis_prefix}*")]
    assert sorted(keys) == [
        f"{redis_prefix}ratelimit:{{billing:key-1}}:blocked".encode(),
        f"{redis_prefix}ratelimit:{{billing:key-1}}:sliding".encode(),
    ]
    assert len({key_slot(key) for key in keys}) == 1


async def test_a_block_learned_by_one_replica_holds_back_the_other(
    redis_client: redis.Redis, redis_prefix: str
) -> None:
    time = FakeTime()
    replica_a = limiter(time, RedisRateLimitStore(redis_client, key_prefix=redis_prefix))
    replica_b = limiter(time, RedisRateLimitStore(redis_client, key_prefix=redis_prefix))

    await replica_a.observe(200, {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(int(time.wall()) + 30)})

    assert 29 <= await retry_after(replica_b) <= 30
    time.advance(30.5)
    await replica_b.acquire()


async def test_a_block_reaches_a_replica_with_nothing_to_count_within_the_sync_interval(
    redis_client: redis.Redis, redis_prefix: str
) -> None:
    time = FakeTime()
    replica_a = limiter(time, RedisRateLimitStore(redis_client, key_prefix=redis_prefix, clock=time.monotonic))
    replica_b = limiter(
        time, RedisRateLimitStore(redis_client, key_prefix=redis_prefix, sync_s=0.25, clock=time.monotonic)
    )
    await replica_b.acquire()  # B has read the (absent) block: nothing to hold it back

    await replica_a.observe(200, {"RateLimit": "limit=5, remaining=0, reset=30"})
    await replica_b.acquire()  # B does not ask Redis again within its sync interval
    time.advance(0.25)

    assert await retry_after(replica_b) == pytest.approx(29.75)


async def redis_commands(redis_url: str, prefix: str, action: Callable[[], Awaitable[None]]) -> list[str]:
    """The commands clients sent (not those scripts ran) naming a key under ``prefix`` while
    ``action`` ran, as the server's own MONITOR saw them."""
    monitoring = redis.Redis.from_url(redis_url)
    marker = f"{prefix}end-of-action"
    seen: list[str] = []
    try:
        async with monitoring.monitor() as monitor:
            await action()
            await monitoring.echo(marker)
            while marker not in (command := await monitor.next_command())["command"]:
                if prefix in command["command"] and command["client_address"] != "lua":
                    seen.append(command["command"].split(" ")[0].upper())
    finally:
        await monitoring.aclose()
    return seen


async def test_with_nothing_to_count_a_thousand_calls_cost_one_redis_read_per_sync_interval(
    redis_url: str, redis_client: redis.Redis, redis_prefix: str
) -> None:
    time = FakeTime()
    replicas = [
        limiter(time, RedisRateLimitStore(redis_client, key_prefix=redis_prefix, sync_s=0.25, clock=time.monotonic))
        for _ in range(2)
    ]

    async def thousand_calls() -> None:
        for n in range(1000):
            await replicas[n % 2].acquire()
            time.advance(0.001)

    commands = await redis_commands(redis_url, redis_prefix, thousand_calls)

    assert commands == ["GET"] * 2 * 4, "one per replica and started 0.25 s, over one second"


async def test_under_a_static_quota_every_call_is_counted_in_redis(
    redis_url: str, redis_client: redis.Redis, redis_prefix: str
) -> None:
    time = exact_time()
    replica = limiter(
        time, RedisRateLimitStore(redis_client, key_prefix=redis_prefix, clock=time.monotonic), limit=1000
    )

    async def hundred_calls() -> None:
        assert await admitted(replica, 100) == 100

    assert Counter(await redis_commands(redis_url, redis_prefix, hundred_calls)) == {"EVALSHA": 100}


async def test_an_unreachable_redis_falls_back_to_this_replicas_own_limits_then_retries_redis() -> None:
    time = FakeTime()
    client = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2, retry=Retry(NoBackoff(), 0))
    store = RedisRateLimitStore(client, key_prefix="unused:", retry_after_failure_s=5.0, clock=time.monotonic)
    attempts: list[str] = []
    original = store._take

    async def counted(**kwargs: object) -> object:
        attempts.append("redis")
        return await original(**kwargs)

    store._take = counted  # type: ignore[method-assign]
    try:
        limit = limiter(time, store, limit=1)
        await limit.acquire()
        with pytest.raises(RateLimitedLocally):
            await limit.acquire()  # the quota still holds, counted in this process
        assert attempts == ["redis"], "Redis is left alone after it failed"
        time.advance(5.0)
        await limit.acquire()
        assert attempts == ["redis", "redis"], "and tried again after the interval"
    finally:
        await store.close()


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


async def test_on_redis_only_a_fresh_copy_of_the_block_admits_at_once(
    redis_client: redis.Redis, redis_prefix: str
) -> None:
    time = FakeTime()
    store = RedisRateLimitStore(redis_client, key_prefix=redis_prefix, sync_s=0.25, clock=time.monotonic)
    replica = limiter(time, store)

    assert not replica.admit_now(), "the block was never read: a round trip first"
    await replica.acquire()
    assert replica.admit_now()
    time.advance(0.25)
    assert not replica.admit_now(), "the copy is stale"
    assert not limiter(time, store, limit=5).admit_now(), "a counted call runs the script"
