"""The engine on the real Redis (one server and a 3-node Redis Cluster): round trips, expiry,
invalidation across replicas, fences, locks, outages."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from typing import Any
from urllib.parse import urlsplit

import pytest
from cache_support import CACHE_TYPES, CUSTOMERS, SUBSCRIPTIONS, USERS, RedisStandIn, Upstream
from clock import FakeClock
from engine_support import user
from harness import free_port
from redis_support import RedisBackend

from clients.identity import IdentityUser
from clients.redis_client import RedisClient
from clients.resilience.breaker import BreakerState
from mobius.redis import RedisTarget, create_redis, create_subscriber
from mobius.settings import RedisSettings
from resolvers.cache import (
    CacheEngine,
    CachePolicy,
    CacheUnavailable,
    InvalidationListener,
    L1Policy,
    LockPolicy,
    RedisStore,
    store_breaker,
)

TTLS = {ctype.name: 60.0 for ctype in CACHE_TYPES}
OUTAGE_OP_TIMEOUT_S = 0.3
"""How long the outage tests' stores wait for a Redis that stalls or refuses."""
HEALTHY_TIMEOUT_S = 30.0
"""Every timeout of a store on a healthy backend. A busy machine can hold a healthy Redis's answer
(or a cluster client's first command, which discovers the slots) past an outage limit of a tenth of
a second, and a timed-out read is a miss: these tests are about what Redis holds, not about outages."""


def server_target(url: str, prefix: str) -> RedisTarget:
    settings = RedisSettings(url=url, key_prefix=prefix, socket_timeout_s=0.1, connect_timeout_s=0.2)
    return RedisTarget(settings, "server")


def store_for(target: RedisTarget, clock: FakeClock, *, op_timeout_s: float) -> RedisStore:
    return RedisStore(
        create_redis(target),
        prefix=target.settings.key_prefix,
        op_timeout_s=op_timeout_s,
        breaker=store_breaker(failure_threshold=3, reset_after_s=5.0, clock=clock),
    )


def backend_target(backend: RedisBackend, prefix: str) -> RedisTarget:
    return backend.target(prefix, socket_timeout_s=HEALTHY_TIMEOUT_S, connect_timeout_s=HEALTHY_TIMEOUT_S)


def engine_for(store: RedisStore, clock: FakeClock, **policy: Any) -> CacheEngine:
    options: dict[str, Any] = {"ttl_s": TTLS, "jitter_ratio": 0.0, "l1": L1Policy(ttl_s=5.0), "clock_skew_s": 0.0}
    options.update(policy)
    return CacheEngine(store=store, policy=CachePolicy(**options), types=CACHE_TYPES, clock=clock)


@pytest.fixture
async def raw(redis_backend: RedisBackend) -> AsyncIterator[RedisClient]:
    client = redis_backend.client()
    yield client
    await client.aclose()


@pytest.fixture
async def stores(redis_backend: RedisBackend, backend_prefix: str, clock: FakeClock) -> AsyncIterator[list[RedisStore]]:
    """Two stores on one prefix: two replicas of one gateway."""
    made = [
        store_for(backend_target(redis_backend, backend_prefix), clock, op_timeout_s=HEALTHY_TIMEOUT_S)
        for _ in range(2)
    ]
    yield made
    for store in made:
        await store.client.aclose()


async def test_a_warm_batch_is_answered_from_redis_with_expiry_as_a_safety_net(
    stores: list[RedisStore], raw: RedisClient, backend_prefix: str, clock: FakeClock
) -> None:
    users = Upstream({"u-1": user("u-1"), "u-2": user("u-2")})
    first, second = (engine_for(store, clock, l1=None) for store in stores)

    await first.load_many(USERS, ["u-1", "u-2", "ghost"], users)
    assert await second.load_many(USERS, ["u-1", "u-2", "ghost"], users) == [users.data["u-1"], users.data["u-2"], None]

    assert users.batches == [["u-1", "u-2", "ghost"]]
    key = backend_prefix + USERS.key("u-1", "")
    assert 60 < await raw.ttl(key) <= 60 + 30 + 600 + 5  # fresh + stale windows + margin
    assert 0 < await raw.ttl(backend_prefix + USERS.key("ghost", "")) <= 15  # negative entries are short


async def test_invalidation_evicts_other_replicas_l1_through_pubsub(
    stores: list[RedisStore], redis_backend: RedisBackend, backend_prefix: str, clock: FakeClock
) -> None:
    users = Upstream({"u-1": user("u-1"), "u-2": user("u-2")})
    here, there = (engine_for(store, clock) for store in stores)
    heard: list[Sequence[str]] = []
    evicted = asyncio.Event()

    def evict(keys: Sequence[str], tags: Sequence[str]) -> None:
        there.evict_local(keys, tags)
        heard.append(tags)
        evicted.set()

    listener = InvalidationListener(
        create_subscriber(backend_target(redis_backend, backend_prefix)),
        stores[1].channel,
        evict=evict,
        clear=there.clear_local,
        origin=stores[1].origin,
    )
    listener.start()
    try:
        await asyncio.wait_for(listener.subscribed.wait(), 5)
        await there.load_many(USERS, ["u-1"], users)
        await there.load_many(USERS, ["u-1"], users)
        assert there.stats["users"].l1_hits == 1

        users.data["u-1"] = user("u-1", name="Renamed")
        assert await here.invalidate(entities=["User:u-1"]) == 1
        await asyncio.wait_for(evicted.wait(), 5)

        assert await there.load_many(USERS, ["u-1"], users) == [users.data["u-1"]]
        assert len(users.batches) == 2

        evicted.clear()
        await there.invalidate(entities=["User:u-2"])  # its own: evicted already, not heard again
        await here.invalidate(entities=["User:u-1"])
        await asyncio.wait_for(evicted.wait(), 5)
        assert [list(tags) for tags in heard] == [["User:u-1"], ["User:u-1"]]
    finally:
        await listener.stop()


async def test_tag_invalidation_follows_links_and_clear_keeps_to_its_prefix(
    redis_backend: RedisBackend, backend_prefix: str, raw: RedisClient, clock: FakeClock
) -> None:
    ours = store_for(backend_target(redis_backend, backend_prefix + "a:"), clock, op_timeout_s=HEALTHY_TIMEOUT_S)
    theirs = store_for(backend_target(redis_backend, backend_prefix + "b:"), clock, op_timeout_s=HEALTHY_TIMEOUT_S)
    customer = Upstream({"org-1": CUSTOMERS.codec.convert({"id": "cus_1", "org_id": "org-1", "name": "A"})})
    subscription = SUBSCRIPTIONS.codec.convert(
        {"id": "s", "customer": "cus_1", "plan": "pro", "status": "active", "seats": 1, "current_period_end": 1}
    )
    subscriptions = Upstream({"cus_1": subscription})
    try:
        for store in (ours, theirs):
            engine = engine_for(store, clock, l1=None)
            await engine.load_many(CUSTOMERS, ["org-1"], customer)
            await engine.load_many(SUBSCRIPTIONS, ["cus_1"], subscriptions)

        engine = engine_for(ours, clock, l1=None)
        assert await engine.invalidate(tags=["org:org-1"]) == 2
        assert [key async for key in raw.scan_iter(match=f"{backend_prefix}a:[ctl]:*")] == []
        assert await engine_for(theirs, clock, l1=None).invalidate_all() == 2
        assert [key async for key in raw.scan_iter(match=f"{backend_prefix}b:[ctl]:*")] == []
    finally:
        await ours.client.aclose()
        await theirs.client.aclose()


async def test_the_lock_keeps_a_second_replica_from_fetching_a_hot_key(
    stores: list[RedisStore], clock: FakeClock
) -> None:
    users = Upstream({"u-1": user("u-1")})
    users.gate = asyncio.Event()
    lock = LockPolicy(enabled=True, ttl_s=5.0, wait_s=5.0, poll_s=0.01)
    first, second = (engine_for(store, clock, l1=None, lock=lock) for store in stores)

    holder = asyncio.ensure_future(first.load_many(USERS, ["u-1"], users))
    await users.called.wait()
    waiter = asyncio.ensure_future(second.load_many(USERS, ["u-1"], users))
    await asyncio.sleep(0.05)  # the second replica finds the lock taken and waits for the first's answer
    users.gate.set()

    assert await holder == await waiter == [users.data["u-1"]]
    assert users.batches == [["u-1"]]


async def test_a_refused_connection_is_a_miss_and_opens_the_breaker(clock: FakeClock) -> None:
    store = store_for(
        server_target(f"redis://127.0.0.1:{free_port()}/0", "x:"), clock, op_timeout_s=OUTAGE_OP_TIMEOUT_S
    )
    engine = engine_for(store, clock, l1=None)
    users = Upstream({"u-1": user("u-1")})
    try:
        for _ in range(4):
            assert await engine.load_many(USERS, ["u-1"], users) == [users.data["u-1"]]
        assert store.breaker.state is BreakerState.OPEN
        assert engine.health() == "degraded"
        assert engine.stats["users"].errors >= 3
        with pytest.raises(CacheUnavailable, match="breaker is open"):
            await store.get_many(["k"])
    finally:
        await store.client.aclose()


async def test_a_stalled_redis_times_out_and_recovery_is_automatic(
    redis_url: str, redis_prefix: str, clock: FakeClock
) -> None:
    target = urlsplit(redis_url).port or 6379
    async with RedisStandIn(target) as stand_in:
        stand_in.mode = "stall"
        store = store_for(
            server_target(f"redis://127.0.0.1:{stand_in.port}/0", redis_prefix), clock, op_timeout_s=OUTAGE_OP_TIMEOUT_S
        )
        engine = engine_for(store, clock, l1=None)
        users = Upstream({"u-1": user("u-1")})
        try:
            for _ in range(3):
                assert await engine.load_many(USERS, ["u-1"], users) == [users.data["u-1"]]
            assert await store.ping() == "degraded"
            assert store.breaker.state is BreakerState.OPEN

            stand_in.mode = "forward"
            clock.advance(5.0)
            assert await store.ping() == "ok"
            assert engine.health() == "ok"
            await engine.load_many(USERS, ["u-1"], users)
            batches = len(users.batches)
            await engine.load_many(USERS, ["u-1"], users)
            assert len(users.batches) == batches
        finally:
            await store.client.aclose()


def slow_fetch(values: dict[str, IdentityUser], gate: asyncio.Event, started: asyncio.Event) -> Any:
    """An upstream read that answers what it read when asked, after the gate opens: what a slow
    fetch does when the data changes while it is on its way back."""

    async def fetch(keys: Sequence[str]) -> list[Any]:
        answer = [values.get(key) for key in keys]
        started.set()
        await gate.wait()
        return answer

    return fetch


@pytest.mark.parametrize(
    "invalidation",
    [{"entities": ["User:u-1"]}, {"tags": ["org:org-1"]}, {}],
    ids=["entity", "tag-of-the-value", "everything"],
)
async def test_a_fetch_overlapped_by_another_replicas_invalidation_is_served_but_not_stored(
    stores: list[RedisStore], clock: FakeClock, invalidation: dict[str, list[str]]
) -> None:
    here, there = (engine_for(store, clock) for store in stores)
    gate, started = asyncio.Event(), asyncio.Event()
    old = {"u-1": user("u-1", name="Old")}
    loading = asyncio.ensure_future(here.load_many(USERS, ["u-1"], slow_fetch(old, gate, started)))
    await started.wait()
    clock.advance(1.0)
    if invalidation:
        await there.invalidate(**invalidation)
    else:
        await there.invalidate_all()
    gate.set()

    assert await loading == [old["u-1"]]  # the request that asked is answered
    assert await stores[0].get_many([USERS.key("u-1", "")]) == [None]  # ... but nobody else gets it
    assert here.stats["users"].fenced == 1
    new = Upstream({"u-1": user("u-1", name="New")})
    assert await here.load_many(USERS, ["u-1"], new) == [new.data["u-1"]]  # nor did this replica's L1 keep it


async def test_a_fetch_begun_after_the_invalidation_is_stored(stores: list[RedisStore], clock: FakeClock) -> None:
    here, there = (engine_for(store, clock) for store in stores)
    await there.invalidate(tags=["org:org-1"])
    clock.advance(1.0)
    users = Upstream({"u-1": user("u-1")})

    await here.load_many(USERS, ["u-1"], users)
    assert await there.load_many(USERS, ["u-1"], users) == [users.data["u-1"]]
    assert users.batches == [["u-1"]]
    assert here.stats["users"].fenced == 0


async def test_locks_of_a_batch_across_slots_are_taken_and_released(
    stores: list[RedisStore], raw: RedisClient, backend_prefix: str, clock: FakeClock
) -> None:
    ids = [f"u-{n}" for n in range(12)]
    users = Upstream({user_id: user(user_id) for user_id in ids})
    engine = engine_for(stores[0], clock, l1=None, lock=LockPolicy(enabled=True, ttl_s=30.0))

    assert await engine.load_many(USERS, ids, users) == [users.data[user_id] for user_id in ids]
    assert [key async for key in raw.scan_iter(match=f"{backend_prefix}l:*")] == []
    assert engine.stats["users"].errors == 0
