"""The resilience pipeline's parts count what they do, labelled by upstream (each test its own)."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest
from metrics_support import multiprocess_mode, scrape_files, value
from prometheus_client import REGISTRY

from clients.errors import BulkheadFull, CircuitOpen, RateLimitedLocally, UpstreamError, UpstreamUnavailable
from clients.instruments import UpstreamInstruments
from clients.resilience.breaker import BreakerPolicy, BreakerState
from clients.resilience.bulkhead import Bulkhead, BulkheadPolicy
from clients.resilience.pipeline import Pipeline, ResiliencePolicy
from clients.resilience.ratelimit import RateLimitPolicy
from clients.resilience.retry import RetryPolicy
from clients.telemetry import BoundedValues
from tests.clients.resilience_support import FakeTime


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def fresh_name() -> str:
    return f"test-{uuid.uuid4().hex[:8]}"


def build(upstream: str, time: FakeTime, **policy: object) -> Pipeline:
    return Pipeline(upstream=upstream, policy=ResiliencePolicy(**policy), timeout_s=5.0, time=time.source())  # type: ignore[arg-type]


async def test_retries_are_counted_by_cause_and_the_budget_left_is_shown() -> None:
    upstream, time = fresh_name(), FakeTime()
    pipe = build(upstream, time, retry=RetryPolicy(attempts=3, budget_ratio=0.0, budget_max_tokens=5))
    outcomes: list[UpstreamError | None] = [UpstreamUnavailable("down", upstream=upstream), None]

    async def attempt() -> str:
        error = outcomes.pop(0)
        if error is not None:
            raise error
        return "ok"

    assert await pipe.call(attempt, idempotent=True, route="GET /v1/things") == "ok"
    assert sample("mobius_upstream_retries_total", upstream=upstream, code="UPSTREAM_UNAVAILABLE") == 1
    assert sample("mobius_upstream_retry_budget_tokens", upstream=upstream) == 4
    assert (
        sample("mobius_upstream_failures_total", upstream=upstream, route="GET /v1/things", code="UPSTREAM_UNAVAILABLE")
        == 0
    )


async def test_a_call_that_fails_after_its_retries_is_counted_by_route_and_code() -> None:
    upstream, time = fresh_name(), FakeTime()
    pipe = build(upstream, time, retry=RetryPolicy(attempts=2))

    async def attempt() -> str:
        raise UpstreamUnavailable("down", upstream=upstream)

    with pytest.raises(UpstreamUnavailable):
        await pipe.call(attempt, idempotent=True, route="GET /v1/things/{id}")
    labels = {"upstream": upstream, "route": "GET /v1/things/{id}", "code": "UPSTREAM_UNAVAILABLE"}
    assert sample("mobius_upstream_failures_total", **labels) == 1
    # no HTTP answer came back for either attempt: both count as requests without a status
    assert (
        sample("mobius_upstream_requests_total", upstream=upstream, route="GET /v1/things/{id}", status_class="error")
        == 2
    )


async def test_breaker_transitions_are_counted_and_its_state_is_one_hot() -> None:
    upstream, time = fresh_name(), FakeTime()
    breaker = BreakerPolicy(window_size=2, minimum_calls=2, open_s=10, half_open_probes=1)
    pipe = build(upstream, time, retry=RetryPolicy(attempts=1), breaker=breaker)

    async def failing() -> str:
        raise UpstreamUnavailable("down", upstream=upstream)

    assert sample("mobius_upstream_breaker_state", upstream=upstream, state="closed") == 1
    for _ in range(2):
        with pytest.raises(UpstreamUnavailable):
            await pipe.call(failing, idempotent=True)
    with pytest.raises(CircuitOpen):
        await pipe.call(failing, idempotent=True)
    assert sample("mobius_upstream_breaker_state", upstream=upstream, state="open") == 1
    assert sample("mobius_upstream_breaker_state", upstream=upstream, state="closed") == 0
    opened = {"upstream": upstream, "from_state": "closed", "to_state": "open"}
    assert sample("mobius_upstream_breaker_transitions_total", **opened) == 1

    time.advance(10)

    async def ok() -> str:
        return "ok"

    assert await pipe.call(ok, idempotent=True) == "ok"
    assert (
        sample("mobius_upstream_breaker_transitions_total", upstream=upstream, from_state="open", to_state="half_open")
        == 1
    )
    assert (
        sample(
            "mobius_upstream_breaker_transitions_total", upstream=upstream, from_state="half_open", to_state="closed"
        )
        == 1
    )
    assert sample("mobius_upstream_breaker_state", upstream=upstream, state="closed") == 1


async def test_bulkhead_shows_calls_in_flight_and_counts_rejections() -> None:
    upstream = fresh_name()
    bulkhead = Bulkhead(upstream=upstream, policy=BulkheadPolicy(max_concurrent=1, max_queue=0))
    release = asyncio.Event()
    entered = asyncio.Event()

    async def hold() -> None:
        async with bulkhead.slot():
            entered.set()
            await release.wait()

    holder = asyncio.create_task(hold())
    await entered.wait()
    assert sample("mobius_upstream_bulkhead_in_flight", upstream=upstream) == 1
    with pytest.raises(BulkheadFull):
        async with bulkhead.slot():
            pass
    assert sample("mobius_upstream_bulkhead_rejections_total", upstream=upstream) == 1
    release.set()
    await holder
    assert sample("mobius_upstream_bulkhead_in_flight", upstream=upstream) == 0


def test_under_multiprocess_mode_each_slot_moves_the_in_flight_value(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    upstream = fresh_name()

    def in_flight() -> float:
        return value(scrape_files(tmp_path), "mobius_upstream_bulkhead_in_flight", {"upstream": upstream})

    with multiprocess_mode(tmp_path, monkeypatch):
        bulkhead = Bulkhead(upstream=upstream, policy=BulkheadPolicy(max_concurrent=2))
        assert bulkhead.take()
        assert bulkhead.take()
        assert in_flight() == 2
        bulkhead.release()
        assert in_flight() == 1
        bulkhead.release()
        assert in_flight() == 0


def test_in_one_process_the_in_flight_gauge_reads_the_bulkhead_when_scraped() -> None:
    upstream = fresh_name()
    bulkhead = Bulkhead(upstream=upstream, policy=BulkheadPolicy(max_concurrent=2))
    assert bulkhead.take()
    assert bulkhead.take()
    assert sample("mobius_upstream_bulkhead_in_flight", upstream=upstream) == 2
    bulkhead.release()
    assert sample("mobius_upstream_bulkhead_in_flight", upstream=upstream) == 1


async def test_rate_limit_waits_and_rejections_are_counted() -> None:
    upstream, time = fresh_name(), FakeTime()
    limit = RateLimitPolicy(limit=1, window_s=1.0, window="fixed", max_wait_s=2.0)
    pipe = build(upstream, time, rate_limit=limit)

    async def ok() -> str:
        return "ok"

    await pipe.call(ok, idempotent=True)
    await pipe.call(ok, idempotent=True)  # waits for the next window
    assert sample("mobius_upstream_rate_limit_waits_total", upstream=upstream) == 1
    assert 0 < sample("mobius_upstream_rate_limit_wait_seconds_total", upstream=upstream) <= 1.0

    strict = build(fresh_name(), FakeTime(), rate_limit=RateLimitPolicy(limit=1, window_s=60.0, max_wait_s=0.0))
    await strict.call(ok, idempotent=True)
    with pytest.raises(RateLimitedLocally):
        await strict.call(ok, idempotent=True)
    assert sample("mobius_upstream_rate_limit_rejections_total", upstream=strict.upstream) == 1
    assert sample("mobius_upstream_requests_total", upstream=strict.upstream, route="*", status_class="error") == 0


def test_bounded_values_admit_the_first_distinct_values_and_fold_the_rest() -> None:
    bound = BoundedValues(3, max_length=10)
    assert [bound(name) for name in ("a", "b", "a", "c", "d", "b", "x" * 11)] == [
        "a",
        "b",
        "a",
        "c",
        "other",
        "b",
        "other",
    ]
    assert bound("e" * 10) == "other"


def test_a_forced_state_is_the_state_shown() -> None:
    upstream = fresh_name()
    pipe = build(upstream, FakeTime())
    pipe.breaker.force(BreakerState.OPEN, by="ops")
    assert sample("mobius_upstream_breaker_state", upstream=upstream, state="open") == 1
    assert sample("mobius_upstream_breaker_state", upstream=upstream, state="closed") == 0
    pipe.breaker.force(None, by="ops")
    assert sample("mobius_upstream_breaker_state", upstream=upstream, state="closed") == 1
    assert sample("mobius_upstream_breaker_state", upstream=upstream, state="open") == 0


def test_each_answer_counts_once_in_its_status_class_and_its_duration_bucket() -> None:
    upstream = fresh_name()
    instruments = UpstreamInstruments(upstream)
    route = "GET /v1/things/{id}"
    for duration_s in (0.003, 0.05, 0.07, 20.0):
        instruments.request(route, "2xx", duration_s)
    instruments.request(route, "5xx", 0.01)

    def bucket(le: str) -> float:
        return sample("mobius_upstream_request_duration_seconds_bucket", upstream=upstream, route=route, le=le)

    assert sample("mobius_upstream_requests_total", upstream=upstream, route=route, status_class="2xx") == 4
    assert sample("mobius_upstream_requests_total", upstream=upstream, route=route, status_class="5xx") == 1
    # cumulative buckets, as prometheus-client's own observe fills them: a bound holds what is at most it
    assert [bucket(le) for le in ("0.005", "0.01", "0.025", "0.05", "0.1", "10.0", "+Inf")] == [1, 2, 2, 3, 4, 4, 5]
    assert sample("mobius_upstream_request_duration_seconds_count", upstream=upstream, route=route) == 5
    assert sample("mobius_upstream_request_duration_seconds_sum", upstream=upstream, route=route) == pytest.approx(
        20.133
    )
