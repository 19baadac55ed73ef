"""The circuit breaker's state machine (resilience4j semantics) on a fake clock."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest
from structlog.testing import capture_logs

from clients.errors import BulkheadFull, CircuitOpen, UpstreamStatusError, UpstreamUnavailable
from clients.resilience.breaker import BreakerPolicy, BreakerState, CircuitBreaker
from clients.resilience.pipeline import Pipeline, ResiliencePolicy
from clients.resilience.retry import RetryPolicy
from tests.clients.resilience_support import FakeTime
from tests.clock import FakeClock

POLICY = BreakerPolicy(
    window="count",
    window_size=10,
    minimum_calls=4,
    failure_rate_threshold=50,
    slow_call_rate_threshold=100,
    slow_call_s=1.0,
    open_s=30,
    half_open_probes=3,
)


def breaker(clock: FakeClock, policy: BreakerPolicy = POLICY) -> CircuitBreaker:
    return CircuitBreaker(upstream="billing", policy=policy, clock=clock)


def record(cb: CircuitBreaker, *outcomes: str, duration_s: float = 0.01) -> None:
    for outcome in outcomes:
        permit = cb.acquire()
        if outcome == "ok":
            permit.success(duration_s)
        else:
            permit.failure(duration_s)


def open_breaker(cb: CircuitBreaker) -> None:
    record(cb, "fail", "fail", "fail", "fail")
    assert cb.state is BreakerState.OPEN


def test_breaker_does_not_judge_before_the_minimum_number_of_calls() -> None:
    cb = breaker(FakeClock())
    record(cb, "fail", "fail", "fail")
    assert cb.state is BreakerState.CLOSED
    record(cb, "ok")
    assert cb.state is BreakerState.OPEN  # 3 of 4 failed: 75% >= 50%


def test_breaker_stays_closed_below_the_failure_rate() -> None:
    cb = breaker(FakeClock())
    record(cb, "ok", "fail", "ok", "ok", "fail", "ok", "ok")
    assert cb.state is BreakerState.CLOSED
    assert cb.stats().failure_rate == pytest.approx(100 * 2 / 7)


def test_count_window_keeps_only_the_last_n_calls() -> None:
    cb = breaker(FakeClock(), replace(POLICY, window_size=4, minimum_calls=4, failure_rate_threshold=75))
    record(cb, "fail", "fail", "ok", "ok", "ok", "ok")
    assert cb.stats().calls == 4
    assert cb.stats().failures == 0
    assert cb.state is BreakerState.CLOSED


def test_time_window_forgets_calls_older_than_its_seconds() -> None:
    clock = FakeClock()
    cb = breaker(clock, replace(POLICY, window="time", window_size=10, minimum_calls=4))
    record(cb, "fail", "fail", "fail")
    clock.advance(11)
    record(cb, "fail", "ok", "ok")
    assert cb.stats().calls == 3
    assert cb.state is BreakerState.CLOSED
    record(cb, "fail")
    assert cb.state is BreakerState.OPEN  # 2 of the last 4 within 10 s


def test_slow_calls_open_the_breaker_at_their_own_threshold() -> None:
    cb = breaker(FakeClock(), replace(POLICY, slow_call_rate_threshold=50))
    record(cb, "ok", "ok", duration_s=0.1)
    record(cb, "ok", "ok", duration_s=1.5)
    assert cb.state is BreakerState.OPEN
    assert cb.transitions[-1].slow_call_rate == 50


def test_open_breaker_rejects_with_the_time_left_and_half_opens_after_the_wait() -> None:
    clock = FakeClock()
    cb = breaker(clock)
    open_breaker(cb)
    clock.advance(10)

    with pytest.raises(CircuitOpen) as caught:
        cb.acquire()

    assert caught.value.retry_after_s == pytest.approx(20)
    assert caught.value.code == "UPSTREAM_UNAVAILABLE"
    clock.advance(20)
    assert cb.state is BreakerState.HALF_OPEN


def test_half_open_admits_exactly_k_probes_then_closes_when_they_succeed() -> None:
    clock = FakeClock()
    cb = breaker(clock)
    open_breaker(cb)
    clock.advance(30)

    probes = [cb.acquire() for _ in range(3)]
    with pytest.raises(CircuitOpen):
        cb.acquire()
    for probe in probes:
        probe.success(0.01)

    assert cb.state is BreakerState.CLOSED
    assert cb.stats().calls == 0  # a fresh window


def test_failing_probes_reopen_the_breaker() -> None:
    clock = FakeClock()
    cb = breaker(clock)
    open_breaker(cb)
    clock.advance(30)

    first, second, third = (cb.acquire() for _ in range(3))
    first.success(0.01)
    second.failure(0.01)
    third.failure(0.01)

    assert cb.state is BreakerState.OPEN
    with pytest.raises(CircuitOpen) as caught:
        cb.acquire()
    assert caught.value.retry_after_s == pytest.approx(30)


def test_a_cancelled_probe_frees_its_slot() -> None:
    clock = FakeClock()
    cb = breaker(clock)
    open_breaker(cb)
    clock.advance(30)
    probes = [cb.acquire() for _ in range(3)]

    probes[0].release()
    replacement = cb.acquire()
    with pytest.raises(CircuitOpen):
        cb.acquire()

    for probe in (*probes[1:], replacement):
        probe.success(0.01)
    assert cb.state is BreakerState.CLOSED


def test_a_late_result_from_before_a_transition_does_not_flip_the_state() -> None:
    clock = FakeClock()
    cb = breaker(clock)
    early = cb.acquire()  # admitted while closed, answers only after the breaker moved on
    open_breaker(cb)
    clock.advance(30)
    probes = [cb.acquire() for _ in range(3)]
    for probe in probes:
        probe.success(0.01)
    assert cb.state is BreakerState.CLOSED
    generation = cb.generation

    early.failure(0.01)
    record(cb, "fail", "fail", "fail")  # three fresh failures: still below the minimum of four

    assert cb.state is BreakerState.CLOSED
    assert cb.generation == generation
    assert cb.stats().calls == 3


def test_a_late_probe_result_from_an_earlier_half_open_is_ignored() -> None:
    clock = FakeClock()
    cb = breaker(clock)
    open_breaker(cb)
    clock.advance(30)
    slow_probe, *others = (cb.acquire() for _ in range(3))
    for probe in others:
        probe.failure(0.01)
    slow_probe.failure(0.01)  # the third verdict re-opens
    assert cb.state is BreakerState.OPEN
    clock.advance(30)
    fresh = [cb.acquire() for _ in range(3)]

    slow_probe.success(0.01)  # already finished: a second verdict is ignored
    assert cb.stats().calls == 0
    for probe in fresh:
        probe.success(0.01)
    assert cb.state is BreakerState.CLOSED


def test_transitions_are_logged_as_events_and_kept() -> None:
    clock = FakeClock()
    cb = breaker(clock)
    with capture_logs() as logs:
        open_breaker(cb)
        clock.advance(30)
        for probe in [cb.acquire() for _ in range(3)]:
            probe.success(0.01)

    events = [log for log in logs if log["event"] == "circuit_breaker_transition"]
    assert [(e["from_state"], e["to_state"]) for e in events] == [
        ("CLOSED", "OPEN"),
        ("OPEN", "HALF_OPEN"),
        ("HALF_OPEN", "CLOSED"),
    ]
    assert events[0]["failure_rate"] == 100
    assert events[0]["upstream"] == "billing"
    assert [(t.from_state, t.to_state) for t in cb.transitions] == [
        (BreakerState.CLOSED, BreakerState.OPEN),
        (BreakerState.OPEN, BreakerState.HALF_OPEN),
        (BreakerState.HALF_OPEN, BreakerState.CLOSED),
    ]


def pipeline(time: FakeTime, *, probes: int = 3) -> Pipeline:
    policy = ResiliencePolicy(retry=RetryPolicy(attempts=1), breaker=replace(POLICY, half_open_probes=probes))
    return Pipeline(upstream="billing", policy=policy, timeout_s=5.0, time=time.source())


async def failing() -> None:
    raise UpstreamUnavailable("upstream answered 503", upstream="billing")


async def test_exactly_k_probes_run_under_fifty_concurrent_callers() -> None:
    time = FakeTime()
    pipe = pipeline(time, probes=3)
    for _ in range(4):
        with pytest.raises(UpstreamUnavailable):
            await pipe.call(failing, idempotent=True)
    assert pipe.breaker.state is BreakerState.OPEN
    time.advance(30)
    started = 0
    release = asyncio.Event()
    rejected = 0
    all_rejected = asyncio.Event()

    async def probe() -> str:
        nonlocal started
        started += 1
        await release.wait()
        return "ok"

    async def caller() -> str:
        nonlocal rejected
        await asyncio.sleep(0)
        try:
            return await pipe.call(probe, idempotent=True)
        except CircuitOpen:
            rejected += 1
            if rejected == 47:
                all_rejected.set()
            return "rejected"

    callers = [asyncio.create_task(caller()) for _ in range(50)]
    await all_rejected.wait()
    assert started == 3
    release.set()
    outcomes = await asyncio.gather(*callers)

    assert outcomes.count("ok") == 3
    assert outcomes.count("rejected") == 47
    assert pipe.breaker.state is BreakerState.CLOSED


async def test_a_cancelled_probe_call_frees_its_slot_in_the_pipeline() -> None:
    time = FakeTime()
    pipe = pipeline(time, probes=1)
    for _ in range(4):
        with pytest.raises(UpstreamUnavailable):
            await pipe.call(failing, idempotent=True)
    time.advance(30)
    hanging = asyncio.create_task(pipe.call(asyncio.Event().wait, idempotent=True))
    await asyncio.sleep(0)
    with pytest.raises(CircuitOpen):
        await pipe.call(failing, idempotent=True)

    hanging.cancel()
    with pytest.raises(asyncio.CancelledError):
        await hanging

    async def ok() -> str:
        return "ok"

    assert await pipe.call(ok, idempotent=True) == "ok"
    assert pipe.breaker.state is BreakerState.CLOSED


async def test_the_gateways_own_rejections_and_answered_errors_never_count_as_failures() -> None:
    pipe = pipeline(FakeTime())

    async def rejected() -> None:
        raise BulkheadFull("queue full", upstream="billing")

    async def not_found() -> None:
        raise UpstreamStatusError("upstream answered 404", upstream="billing", status=404)

    for attempt in (rejected, rejected, rejected, rejected, rejected):
        with pytest.raises(BulkheadFull):
            await pipe.call(attempt, idempotent=True)
    for _ in range(5):
        with pytest.raises(UpstreamStatusError):
            await pipe.call(not_found, idempotent=True)

    assert pipe.breaker.state is BreakerState.CLOSED
    assert pipe.breaker.stats().calls == 5
    assert pipe.breaker.stats().failures == 0
