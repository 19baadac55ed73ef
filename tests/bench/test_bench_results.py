"""The benchmark's aggregation: autocannon's report, medians over rounds, ratios to the best peer."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.preflight import first_difference
from bench.report import markdown, rows_from_json, telemetry_costs, write
from bench.results import Case, Measurement, aggregate, parse_autocannon
from bench.targets import summary


def test_autocannon_report_counts_only_successful_requests() -> None:
    report = {
        "requests": {"total": 1000, "average": 99.5},
        "latency": {"p50": 12, "p99": 40.5},
        "duration": 10.02,
        "non2xx": 4,
        "errors": 1,
        "timeouts": 2,
    }
    load = parse_autocannon(report)
    assert load.requests == 996
    assert load.failures == 7
    assert (load.p50_ms, load.p99_ms) == (12.0, 40.5)
    assert load.requests_per_s == pytest.approx(996 / 10.02)


def figures(rps: float, cpu: float, p50: float) -> dict[str, float]:
    return {"requests_per_s": rps, "cpu_ms_per_request": cpu, "p50_ms": p50}


def test_rows_take_the_median_of_rounds_and_divide_by_the_best_peer() -> None:
    def case(name: str) -> Case:
        return Case("dashboard", name, 1, 0)

    measurements = [
        Measurement(case("mobius"), 0, figures(100, 10, 50)),
        Measurement(case("mobius"), 1, figures(120, 8, 40)),
        Measurement(case("mobius"), 2, figures(500, 1, 1)),
        Measurement(case("hive"), 0, figures(80, 20, 60)),
        Measurement(case("yoga"), 0, figures(150, 12, 30)),
        Measurement(Case("dashboard", "yoga", 2, 0), 0, figures(1000, 1, 1)),  # another cell: ignored
    ]
    rows = {(row.case.implementation, row.case.workers): row for row in aggregate(measurements, {})}
    ours = rows[("mobius", 1)]
    assert ours.rounds == 3
    assert ours.figures == figures(120, 8, 40)
    assert ours.ratios["requests_per_s"] == pytest.approx(120 / 150)  # best peer throughput: yoga
    assert ours.ratios["cpu_ms_per_request"] == pytest.approx(8 / 12)  # best peer CPU: yoga
    assert ours.ratios["p50_ms"] == pytest.approx(40 / 30)
    assert rows[("hive", 1)].ratios["cpu_ms_per_request"] == pytest.approx(20 / 12)


def test_unmeasured_cases_are_reported_with_their_reason() -> None:
    cached = Case("dashboard-cached", "mobius", 1, 0)
    rows = aggregate([], {cached: "not available: this gateway has no `cache` setting"})
    assert len(rows) == 1
    assert not rows[0].available
    meta = {
        "command": "scripts/bench",
        "date": "today",
        "rounds": 1,
        "duration_s": 3,
        "warmup_s": 1,
        "connections": 10,
        "machine": {"cores": "2"},
        "versions": {},
        "auth": {},
        "preflight": {},
    }
    assert "not available: this gateway has no `cache` setting" in markdown(rows, meta)


def test_first_difference_names_the_path_where_answers_diverge() -> None:
    ours = {"org": {"members": [{"id": "u1"}, {"id": "u2"}], "name": "Acme"}}
    theirs = {"org": {"members": [{"id": "u1"}, {"id": "u3"}], "name": "Acme"}}
    assert first_difference(ours, theirs).startswith("data.org.members[1].id:")
    assert first_difference([1], [1, 2]) == "data: 1 items vs 2"


def test_results_json_renders_the_same_report(tmp_path: Path) -> None:
    measurements = [
        Measurement(Case("user", "mobius", 1, 20), 0, figures(100, 1.0, 22)),
        Measurement(Case("user", "yoga", 1, 20), 0, figures(90, 1.5, 23)),
    ]
    rows = aggregate(measurements, {Case("user", "hive", 1, 20): "did not start"})
    meta = {
        "command": "scripts/bench --quick",
        "date": "today",
        "rounds": 1,
        "duration_s": 3,
        "warmup_s": 1,
        "connections": 10,
        "machine": {"cores": "2"},
        "versions": {"graphql-yoga": "5"},
        "auth": {"mobius": "full"},
        "preflight": {"yoga/user": "same as Mobius"},
        "notes": [],
    }
    markdown_path, json_path = tmp_path / "RESULTS.md", tmp_path / "results.json"
    write(rows, meta, markdown_path, json_path)
    payload = json.loads(json_path.read_text())
    assert markdown(rows_from_json(payload), payload["meta"]) == markdown_path.read_text()
    assert "| did not start |" in markdown_path.read_text()


def test_the_report_says_what_metrics_and_tracing_cost_on_the_dashboard() -> None:
    def measured(name: str, cpu: float) -> Measurement:
        return Measurement(Case("dashboard", name, 1, 0), 0, figures(100, cpu, 50))

    rows = aggregate(
        [measured("mobius", 5.1), measured("mobius-metrics-off", 5.0), measured("mobius-traced", 6.12)], {}
    )
    assert telemetry_costs(rows) == [
        "telemetry, dashboard, 1 worker(s), 0 ms upstreams: CPU per request 5.10 ms with metrics (the default) "
        "against 5.00 ms without (+2.0%); 6.12 ms with every request traced to a loopback collector (+20.0%)"
    ]
    assert telemetry_costs(aggregate([measured("mobius", 5.1)], {})) == []


def test_the_summary_reads_each_target_from_its_worst_cell_and_says_pass_or_miss() -> None:
    def row(
        workload: str, name: str, cpu: float, *, latency: int = 0, clients: int = 10, p50: float = 50
    ) -> Measurement:
        figures = {"cpu_ms_per_request": cpu, "p50_ms": p50, "p99_ms": p50, "rss_mb_per_worker": 120.0}
        return Measurement(Case(workload, name, 1, latency, clients), 0, figures)

    rows = aggregate(
        [
            row("dashboard", "mobius", 6.0),
            row("dashboard", "yoga", 5.0),
            row("dashboard", "floor-io", 2.0),
            row("dashboard", "mobius", 4.0, clients=1),
            row("dashboard", "yoga", 5.0, clients=1),
            row("dashboard", "mobius", 7.0, latency=20, clients=1, p50=44),
            row("dashboard-warm", "mobius", 1.5),
        ],
        {},
    )
    text = "\n".join(summary(rows))

    assert (
        "| dashboard CPU per request <= 1.0x the fair yoga peer | 1.20x | dashboard w=1 0 ms c=10 | 2 | **miss** |"
        in text
    )
    assert "| dashboard CPU per request <= 2.0x floor-io | 3.00x | dashboard w=1 0 ms c=10 | 1 | **miss** |" in text
    assert "| warm dashboard (entity cache in-process) <= 2.0 ms CPU | 1.50 ms |" in text
    assert (
        "| dashboard p50 at 1 client, 20 ms upstreams <= 45 ms | 44.00 ms | dashboard w=1 20 ms c=1 | 1 | pass |"
        in text
    )
    assert "| RSS per worker <= 150 MB | 120.00 MB |" in text
    assert "| dashboard | 1 | 0 | 1 | 4.00 | 5.00 | 0.80x |" in text
