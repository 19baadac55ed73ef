"""The Redis rate-limit store: replicas share one quota in one cluster slot, a block learned by one
holds back the others, no round trip per call when there is nothing to count, and a fall-back to
the replica's own limits while Redis is unreachable."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
import redis.asyncio as redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.crc import key_slot

from clients.errors import RateLimitedLocally
from clients.resilience.ratelimit_store import (
    RedisRateLimitStore,
)
from tests.clients.resilience_support import FakeTime, admitted, exact_time, limiter, retry_after


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


async def test_a_fixed_window_count_outlives_its_window_for_replicas_whose_clocks_run_behind(
    redis_client: redis.Redis, redis_prefix: str
) -> None:
    """Redis expires the count in its own time: a replica a little behind it (or behind the replica
    that counted) must still find the count of the window it is in, not an empty one."""
    time = exact_time()
    time.advance(0.75)
    replica = limiter(
        time, RedisRateLimitStore(redis_client, key_prefix=redis_prefix), limit=2, window_s=1.0, window="fixed"
    )
    await replica.acquire()

    expires_in_ms = await redis_client.pttl(f"{redis_prefix}ratelimit:{{billing:key-1}}:fixed")
    assert 1_000 < expires_in_ms <= 1_251  # the window's last 0.25 s, then one window more
    assert await admitted(replica, 2) == 1
