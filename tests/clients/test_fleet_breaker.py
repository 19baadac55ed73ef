"""Fleet-wide breakers on the real Redis (one server and a 3-node cluster): two processes' breakers
of one upstream, each with its own board, injected clocks and no sleeping out of windows."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from urllib.parse import urlsplit

import pytest
from cache_support import RedisStandIn
from clock import FakeClock
from redis.asyncio import Redis
from redis_support import RedisBackend

from clients.errors import CircuitOpen
from clients.resilience.breaker import BreakerPolicy, BreakerState, Permit
from clients.resilience.breaker_board import RedisBreakerBoard
from clients.resilience.fleet_breaker import FleetBreaker
from mobius.redis import create_redis, create_subscriber

POLICY = BreakerPolicy(window="count", window_size=4, minimum_calls=4, open_s=30.0, half_open_probes=3)
HEALTHY_TIMEOUT_S = 30.0
"""The boards' timeouts (a call's, the socket's). A board call that times out is Redis unavailable,
and then each process judges alone (the last test): on a busy machine a healthy Redis can answer
40 concurrent calls later than the product's quarter of a second, and these tests are about the
fleet with Redis up."""


class Process:
    """One gateway process's view of the billing upstream: its board and its breaker."""

    def __init__(self, board: RedisBreakerBoard, wall: FakeClock) -> None:
        self.board = board
        self.clock = FakeClock()
        self.breaker = FleetBreaker(upstream="billing", policy=POLICY, clock=self.clock, board=board, wall=wall)

    async def fail(self, times: int) -> None:
        for _ in range(times):
            (await self.breaker.admit()).failure(0.0)

    def wait_out(self, seconds: float) -> None:
        self.clock.advance(seconds)


async def eventually(condition: Callable[[], bool], what: str) -> None:
    for _ in range(500):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"within 5 s: {what}")


async def settled(*processes: Process) -> None:
    """Let announcements, probe reports and slot returns (background tasks) finish."""
    for _ in range(3):
        await asyncio.gather(*(task for p in processes for task in list(p.breaker._tasks)))
        await asyncio.sleep(0.05)


def board_on(backend: RedisBackend, prefix: str, instance: str, wall: FakeClock) -> RedisBreakerBoard:
    target = backend.target(prefix, socket_timeout_s=HEALTHY_TIMEOUT_S, connect_timeout_s=HEALTHY_TIMEOUT_S)
    return RedisBreakerBoard(
        create_redis(target),
        create_subscriber(target),
        prefix=prefix,
        instance=instance,
        op_timeout_s=HEALTHY_TIMEOUT_S,
        wall=wall,
    )


@pytest.fixture
async def fleet(redis_backend: RedisBackend, backend_prefix: str) -> AsyncIterator[list[Process]]:
    wall = FakeClock(1_700_000_000.0)
    processes = [Process(board_on(redis_backend, backend_prefix, name, wall), wall) for name in ("a:1", "b:2")]
    for process in processes:
        await process.board.start()
    for process in processes:
        await asyncio.wait_for(process.board.listening.wait(), 5)
    yield processes
    await settled(*processes)
    for process in processes:
        await process.board.stop()


async def test_a_breaker_that_trips_on_one_process_opens_on_every_process(fleet: list[Process]) -> None:
    a, b = fleet
    await a.fail(4)
    assert a.breaker.state is BreakerState.OPEN

    await eventually(lambda: b.breaker.state is BreakerState.OPEN, "b opens without a call of its own")
    with pytest.raises(CircuitOpen) as refused:
        b.breaker.acquire()
    assert 29 < (refused.value.retry_after_s or 0) <= 30
    assert b.breaker.transitions[-1].reason == "thresholds reached (by a:1)"


async def test_half_open_admits_exactly_k_probes_across_the_fleet_and_the_last_result_closes_it(
    fleet: list[Process],
) -> None:
    a, b = fleet
    await a.fail(4)
    await eventually(lambda: b.breaker.state is BreakerState.OPEN, "b opens")
    for process in fleet:
        process.wait_out(30.0)

    async def try_probe(process: Process) -> Permit | None:
        try:
            return await process.breaker.admit()
        except CircuitOpen:
            return None

    attempts = await asyncio.gather(*(try_probe(process) for process in fleet for _ in range(20)))
    probes = [permit for permit in attempts if permit is not None]
    assert len(probes) == POLICY.half_open_probes

    for probe in probes:
        probe.success(0.0)
    await settled(a, b)
    await eventually(
        lambda: a.breaker.state is b.breaker.state is BreakerState.CLOSED, "every process closes after the probes"
    )


async def test_failed_probes_reopen_the_fleet_for_another_open_wait(fleet: list[Process]) -> None:
    a, b = fleet
    await b.fail(4)
    await eventually(lambda: a.breaker.state is BreakerState.OPEN, "a opens")
    for process in fleet:
        process.wait_out(30.0)
    probes = [await a.breaker.admit(), await b.breaker.admit(), await b.breaker.admit()]
    with pytest.raises(CircuitOpen, match="the fleet's probes are out"):
        await a.breaker.admit()

    for probe in probes:
        probe.failure(0.0)
    await settled(a, b)
    await eventually(lambda: a.breaker.state is b.breaker.state is BreakerState.OPEN, "every process re-opens")
    for process in fleet:
        process.wait_out(29.0)
    assert a.breaker.state is b.breaker.state is BreakerState.OPEN


async def test_a_cancelled_probe_gives_its_slot_back_to_the_fleet(fleet: list[Process]) -> None:
    a, b = fleet
    await a.fail(4)
    await eventually(lambda: b.breaker.state is BreakerState.OPEN, "b opens")
    for process in fleet:
        process.wait_out(30.0)
    probes = [await a.breaker.admit() for _ in range(3)]
    probes[0].release()
    await settled(a)

    assert (await b.breaker.admit()).probe


async def test_an_operator_forces_the_fleet_open_and_closed_and_releases_it(fleet: list[Process]) -> None:
    a, b = fleet
    await a.board.force("billing", BreakerState.OPEN, by="ops-alice")
    await eventually(lambda: a.breaker.state is b.breaker.state is BreakerState.OPEN, "forced open everywhere")
    with pytest.raises(CircuitOpen, match="forced open by ops-alice"):
        await b.breaker.admit()

    await b.board.force("billing", BreakerState.CLOSED, by="ops-bob")
    await eventually(lambda: a.breaker.forced is not None and a.breaker.forced.by == "ops-bob", "forced closed")
    await a.fail(10)  # outcomes are not judged while forced
    assert a.breaker.state is BreakerState.CLOSED

    await a.board.force("billing", None, by="ops-bob")
    await eventually(lambda: a.breaker.forced is None and b.breaker.forced is None, "released everywhere")
    await a.fail(4)
    assert a.breaker.state is BreakerState.OPEN


async def test_a_process_that_starts_later_adopts_the_fleets_open_breaker(
    fleet: list[Process], redis_backend: RedisBackend, backend_prefix: str
) -> None:
    a, _ = fleet
    await a.fail(4)
    await settled(a)
    later = FakeClock(1_700_000_010.0)
    late = Process(board_on(redis_backend, backend_prefix, "c:3", later), later)
    await late.board.start()
    try:
        await asyncio.wait_for(late.board.listening.wait(), 5)
        assert late.breaker.state is BreakerState.OPEN
        with pytest.raises(CircuitOpen) as refused:
            late.breaker.acquire()
        assert 19 < (refused.value.retry_after_s or 0) <= 20  # what is left of the fleet's open wait
    finally:
        await late.board.stop()


async def test_the_closed_state_sends_nothing_to_redis(redis_url: str, backend_prefix: str) -> None:
    port = urlsplit(redis_url).port or 6379
    async with RedisStandIn(port) as relay:
        wall = FakeClock(1_700_000_000.0)
        url = f"redis://127.0.0.1:{relay.port}/0"
        board = RedisBreakerBoard(Redis.from_url(url), Redis.from_url(url), prefix=backend_prefix, instance="a:1")
        process = Process(board, wall)
        await board.start()
        try:
            await asyncio.wait_for(board.listening.wait(), 5)
            before = relay.sent
            for _ in range(200):
                (await process.breaker.admit()).success(0.0)
            assert relay.sent == before
        finally:
            await board.stop()


async def test_without_redis_each_process_is_its_own_breaker() -> None:
    gone = "redis://127.0.0.1:1/0"
    board = RedisBreakerBoard(Redis.from_url(gone), Redis.from_url(gone), prefix="x:", instance="a:1")
    process = Process(board, FakeClock(1_700_000_000.0))
    await board.start()
    try:
        await process.fail(4)
        await settled(process)
        assert process.breaker.state is BreakerState.OPEN
        process.wait_out(30.0)
        probes: list[Awaitable[Permit]] = [process.breaker.admit() for _ in range(5)]
        answers = await asyncio.gather(*probes, return_exceptions=True)
        admitted = [permit for permit in answers if isinstance(permit, Permit)]
        assert len(admitted) == POLICY.half_open_probes
        for permit in admitted:
            permit.success(0.0)
        assert process.breaker.state is BreakerState.CLOSED
    finally:
        await board.stop()
