"""The client-side rate limiter: header parsing, learning and its expiry, static quotas (GCRA) and
the Redis store that lets replicas share one quota."""

from __future__ import annotations

from collections.abc import AsyncIterator
from email.utils import formatdate

import pytest
import redis.asyncio as redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from clients.errors import RateLimitedLocally
from clients.resilience.deadline import deadline_scope
from clients.resilience.ratelimit import RateLimiter, RateLimitPolicy
from clients.resilience.ratelimit_headers import Quota, parse_rate_limit, parse_retry_after
from clients.resilience.ratelimit_store import MemoryRateLimitStore, RateLimitStore, RedisRateLimitStore
from tests.clients.resilience_support import FakeTime, StoreFor

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


def test_retry_after_as_seconds_or_http_date() -> None:
    assert parse_retry_after("7", wall_now=NOW) == 7
    assert parse_retry_after(formatdate(NOW + 20, usegmt=True), wall_now=NOW) == pytest.approx(20)
    assert parse_retry_after("soon", wall_now=NOW) is None


def limiter(time: FakeTime, store: RateLimitStore, **policy: object) -> RateLimiter:
    return RateLimiter(
        upstream="billing",
        policy=RateLimitPolicy(credential_id="key-1", **policy),  # type: ignore[arg-type]
        store=store,
        wall_clock=time.wall,
        sleep=time.sleep,
    )


async def test_after_zero_remaining_nothing_goes_out_until_the_reset() -> None:
    time = FakeTime()
    limit = limiter(time, MemoryRateLimitStore())
    await limit.acquire()
    await limit.observe(200, {"RateLimit": "limit=5, remaining=0, reset=30"})

    with pytest.raises(RateLimitedLocally) as caught:
        await limit.acquire()
    assert caught.value.code == "RATE_LIMITED"
    assert caught.value.retry_after_s == pytest.approx(30)
    time.advance(29.9)
    with pytest.raises(RateLimitedLocally):
        await limit.acquire()

    time.advance(0.2)
    await limit.acquire()
    assert limit.remaining is None, "what the upstream said ended with its reset"


async def test_a_429_retry_after_holds_calls_back() -> None:
    time = FakeTime()
    limit = limiter(time, MemoryRateLimitStore())
    await limit.observe(429, {"Retry-After": "3"})

    with pytest.raises(RateLimitedLocally) as caught:
        await limit.acquire()

    assert caught.value.retry_after_s == pytest.approx(3)


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


async def test_a_static_quota_admits_its_burst_then_one_call_per_interval() -> None:
    time = FakeTime()
    limit = limiter(time, MemoryRateLimitStore(), limit=5, window_s=1.0)
    for _ in range(5):
        await limit.acquire()
    with pytest.raises(RateLimitedLocally) as caught:
        await limit.acquire()
    assert caught.value.retry_after_s == pytest.approx(0.2)

    time.advance(0.2)
    await limit.acquire()
    with pytest.raises(RateLimitedLocally):
        await limit.acquire()


async def test_a_learned_policy_becomes_the_quota() -> None:
    time = FakeTime()
    limit = limiter(time, MemoryRateLimitStore())
    await limit.observe(200, {"RateLimit-Policy": "2;w=1", "RateLimit": "limit=2, remaining=2, reset=1"})

    await limit.acquire()
    await limit.acquire()
    with pytest.raises(RateLimitedLocally):
        await limit.acquire()


async def admitted(limit: RateLimiter, calls: int) -> int:
    count = 0
    for _ in range(calls):
        try:
            await limit.acquire()
        except RateLimitedLocally:
            continue
        count += 1
    return count


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


@pytest.fixture
async def redis_client(redis_url: str) -> AsyncIterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url)
    try:
        yield client
    finally:
        await client.aclose()


async def test_two_limiters_on_redis_share_one_quota(redis_client: redis.Redis, redis_prefix: str) -> None:
    time = FakeTime()
    replica_a = limiter(time, RedisRateLimitStore(redis_client, key_prefix=redis_prefix), limit=4, window_s=1.0)
    replica_b = limiter(time, RedisRateLimitStore(redis_client, key_prefix=redis_prefix), limit=4, window_s=1.0)

    admitted = 0
    for replica in (replica_a, replica_b) * 4:
        try:
            await replica.acquire()
            admitted += 1
        except RateLimitedLocally:
            pass

    assert admitted == 4
    with pytest.raises(RateLimitedLocally) as caught:
        await replica_b.acquire()
    assert caught.value.retry_after_s == pytest.approx(0.25)
    time.advance(0.25)
    await replica_a.acquire()
    assert await redis_client.exists(f"{redis_prefix}ratelimit:billing:key-1:tat")


async def test_a_block_learned_by_one_replica_holds_back_the_other(
    redis_client: redis.Redis, redis_prefix: str
) -> None:
    time = FakeTime()
    replica_a = limiter(time, RedisRateLimitStore(redis_client, key_prefix=redis_prefix))
    replica_b = limiter(time, RedisRateLimitStore(redis_client, key_prefix=redis_prefix))

    await replica_a.observe(200, {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(int(time.wall()) + 30)})

    with pytest.raises(RateLimitedLocally) as caught:
        await replica_b.acquire()
    assert 29 <= (caught.value.retry_after_s or 0) <= 30
    time.advance(30.5)
    await replica_b.acquire()


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
