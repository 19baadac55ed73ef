"""The request counters and duration histograms our instruments update in place (one process's
values made native): a scrape reads the same text as prometheus-client's own updates give, the
public API still adds to the same numbers, and multiprocess values are left to their own ``inc``."""

from __future__ import annotations

import pytest
from metrics_support import FileValue
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from clients.instruments import LevelValue, RequestValues, SizeValues
from clients.telemetry import BATCH_BUCKETS, LATENCY_BUCKETS_S

DURATIONS_S = (0.003, 0.05, 0.07, 20.0, 0.0049)


def metrics(registry: CollectorRegistry) -> tuple[Counter, Histogram]:
    requests = Counter("calls", "calls", ["route", "status"], registry=registry)
    duration = Histogram("call_seconds", "call time", ["route"], buckets=LATENCY_BUCKETS_S, registry=registry)
    return requests, duration


def scrape(registry: CollectorRegistry) -> list[str]:
    """The exposition without the creation times (two registries never share them)."""
    return [line for line in generate_latest(registry).decode().splitlines() if "_created" not in line]


def test_a_scrape_reads_what_prometheus_clients_own_updates_give() -> None:
    ours, theirs = CollectorRegistry(), CollectorRegistry()
    requests, duration = metrics(ours)
    ok = RequestValues(requests.labels("GET /a", "2xx"), duration.labels("GET /a"))
    failed = RequestValues(requests.labels("GET /a", "5xx"), duration.labels("GET /a"))
    their_requests, their_duration = metrics(theirs)
    for duration_s in DURATIONS_S:
        ok.record(duration_s)
        their_requests.labels("GET /a", "2xx").inc()
        their_duration.labels("GET /a").observe(duration_s)
    failed.record(0.2)
    their_requests.labels("GET /a", "5xx").inc()
    their_duration.labels("GET /a").observe(0.2)

    assert scrape(ours) == scrape(theirs)


def test_a_batch_size_scrapes_as_prometheus_clients_own_observe_gives() -> None:
    ours, theirs = CollectorRegistry(), CollectorRegistry()
    histograms = [
        Histogram("batch_keys", "keys", ["read"], buckets=BATCH_BUCKETS, registry=registry)
        for registry in (ours, theirs)
    ]
    sizes = SizeValues(histograms[0].labels("users"))
    for size in (1, 2, 3, 20, 21, 200, 201, 1000):
        sizes.observe(size)
        histograms[1].labels("users").observe(size)

    assert scrape(ours) == scrape(theirs)


def test_the_public_api_adds_to_the_same_numbers() -> None:
    registry = CollectorRegistry()
    requests, duration = metrics(registry)
    values = RequestValues(requests.labels("GET /a", "2xx"), duration.labels("GET /a"))
    values.record(0.01)
    requests.labels("GET /a", "2xx").inc(2)
    duration.labels("GET /a").observe(0.01)
    values.record(0.01)

    assert registry.get_sample_value("calls_total", {"route": "GET /a", "status": "2xx"}) == 4
    assert registry.get_sample_value("call_seconds_count", {"route": "GET /a"}) == 3
    assert registry.get_sample_value("call_seconds_sum", {"route": "GET /a"}) == pytest.approx(0.03)
    assert registry.get_sample_value("call_seconds_bucket", {"route": "GET /a", "le": "0.01"}) == 3


def test_a_gauge_level_moves_with_its_public_api() -> None:
    registry = CollectorRegistry()
    gauge = Gauge("in_flight", "in flight", ["path"], registry=registry)
    level = LevelValue(gauge.labels("/graphql"))
    level.up()
    level.up()
    gauge.labels("/graphql").dec()
    level.down()
    gauge.labels("/graphql").inc(3)

    assert registry.get_sample_value("in_flight", {"path": "/graphql"}) == 3


def test_multiprocess_values_are_kept_and_moved_through_their_own_inc(monkeypatch: pytest.MonkeyPatch) -> None:
    requests, duration = metrics(CollectorRegistry())
    counter, histogram = requests.labels("GET /a", "2xx"), duration.labels("GET /a")
    count, total = FileValue(), FileValue()
    buckets = [FileValue() for _ in range(len(LATENCY_BUCKETS_S) + 1)]
    monkeypatch.setattr(counter, "_value", count)
    monkeypatch.setattr(histogram, "_sum", total)
    monkeypatch.setattr(histogram, "_buckets", buckets)

    RequestValues(counter, histogram).record(0.05)

    assert counter._value is count
    assert histogram._sum is total
    assert count.moves == [1]
    assert total.moves == [0.05]
    assert [bucket.get() for bucket in buckets].count(1) == 1
