"""The request counters and duration histograms our instruments update in place (one process's
values made native): a scrape reads the same text as prometheus-client's own updates give, the
public API still adds to the same numbers; under multiprocess mode the workers' files read the same
as prometheus-client's own updates give, across a file's growth and a fork."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from metrics_support import multiprocess_mode, scrape_files, value
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from clients.instruments import FileTotal, HistogramValues, LevelValue, RequestValues
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
    sizes = HistogramValues(histograms[0].labels("users"))
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


def multiprocess_scrape(directory: Path) -> list[str]:
    return [line for line in scrape_files(directory).splitlines() if not line.startswith("#")]


def test_under_multiprocess_mode_the_files_read_what_prometheus_clients_own_updates_give(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with multiprocess_mode(tmp_path / "ours", monkeypatch) as ours:
        requests, duration = metrics(CollectorRegistry())
        ok = RequestValues(requests.labels("GET /a", "2xx"), duration.labels("GET /a"))
        failed = RequestValues(requests.labels("GET /a", "5xx"), duration.labels("GET /a"))
        for duration_s in DURATIONS_S:
            ok.record(duration_s)
        failed.record(0.2)
        requests.labels("GET /a", "2xx").inc(2)
    with multiprocess_mode(tmp_path / "theirs", monkeypatch) as theirs:
        their_requests, their_duration = metrics(CollectorRegistry())
        for duration_s in DURATIONS_S:
            their_requests.labels("GET /a", "2xx").inc()
            their_duration.labels("GET /a").observe(duration_s)
        their_requests.labels("GET /a", "5xx").inc()
        their_duration.labels("GET /a").observe(0.2)
        their_requests.labels("GET /a", "2xx").inc(2)

    assert isinstance(ok.count, FileTotal)
    assert multiprocess_scrape(ours) == multiprocess_scrape(theirs)


def test_a_value_made_before_its_file_grew_still_writes_to_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with multiprocess_mode(tmp_path, monkeypatch):
        requests, duration = metrics(CollectorRegistry())
        values = RequestValues(requests.labels("GET /a", "2xx"), duration.labels("GET /a"))
        values.record(0.01)
        for route in range(2000):  # the file starts at 64 KiB; these label sets outgrow it
            requests.labels(f"GET /{route}", "2xx").inc()
        values.record(0.01)

    text = scrape_files(tmp_path)
    assert value(text, "calls_total", {"route": "GET /a"}) == 2
    assert value(text, "calls_total") == 2002


def test_a_forked_child_counts_in_a_file_of_its_own(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with multiprocess_mode(tmp_path, monkeypatch):
        requests, duration = metrics(CollectorRegistry())
        values = RequestValues(requests.labels("GET /a", "2xx"), duration.labels("GET /a"))
        values.record(0.01)
        child = os.fork()
        if child == 0:
            values.record(0.01)
            values.record(0.01)
            os._exit(0)
        _, status = os.waitpid(child, 0)
        values.record(0.01)

    assert os.waitstatus_to_exitcode(status) == 0
    assert len(list(tmp_path.glob("counter_*.db"))) == 2
    assert value(scrape_files(tmp_path), "calls_total", {"route": "GET /a"}) == 4
