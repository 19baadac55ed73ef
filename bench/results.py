"""Figures of one measurement, their aggregation over rounds, and ratios to the best peer."""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

OURS = "mobius"
PEERS = ("hive", "yoga")

LOWER_IS_BETTER = (
    "p50_ms",
    "p99_ms",
    "cpu_ms_per_request",
    "rss_mb",
    "rss_mb_per_worker",
    "upstream_per_request",
    "upstream_per_request_under_load",
    "sandbox_cpu_ms_per_request",
)
HIGHER_IS_BETTER = ("requests_per_s",)
FIGURES = HIGHER_IS_BETTER + LOWER_IS_BETTER


@dataclass(frozen=True, slots=True)
class LoadResult:
    """What the load generator reports for one timed run."""

    requests: int
    duration_s: float
    p50_ms: float
    p99_ms: float
    failures: int
    """Non-2xx answers, socket errors and timeouts."""

    @property
    def requests_per_s(self) -> float:
        return self.requests / self.duration_s if self.duration_s > 0 else 0.0


def parse_autocannon(report: Mapping[str, Any]) -> LoadResult:
    """Autocannon's `--json` report: completed requests, latency percentiles (ms), failures."""
    requests = report["requests"]
    latency = report["latency"]
    non2xx = int(report.get("non2xx", 0))
    return LoadResult(
        requests=int(requests["total"]) - non2xx,
        duration_s=float(report["duration"]),
        p50_ms=float(latency["p50"]),
        p99_ms=float(latency["p99"]),
        failures=non2xx + int(report.get("errors", 0)) + int(report.get("timeouts", 0)),
    )


@dataclass(frozen=True, slots=True)
class Case:
    workload: str
    implementation: str
    workers: int
    latency_ms: int
    connections: int = 10

    def group(self) -> tuple[str, int, int, int]:
        """The cell implementations are compared within."""
        return (self.workload, self.workers, self.latency_ms, self.connections)


@dataclass(frozen=True, slots=True)
class Measurement:
    case: Case
    round: int
    figures: dict[str, float]
    failures: int = 0


@dataclass(frozen=True, slots=True)
class Row:
    """One case's figures (median over rounds), or why it could not be measured."""

    case: Case
    figures: dict[str, float] = field(default_factory=dict)
    rounds: int = 0
    failures: int = 0
    note: str = ""
    ratios: dict[str, float] = field(default_factory=dict)
    """Each figure divided by the best peer's in the same cell."""

    @property
    def available(self) -> bool:
        return bool(self.figures)


def aggregate(measurements: Iterable[Measurement], unavailable: Mapping[Case, str]) -> list[Row]:
    """Median of every figure per case over its rounds, then ratios to the best peer per cell."""
    by_case: dict[Case, list[Measurement]] = {}
    for measurement in measurements:
        by_case.setdefault(measurement.case, []).append(measurement)
    rows = [
        Row(
            case=case,
            figures={name: statistics.median(m.figures[name] for m in runs) for name in runs[0].figures},
            rounds=len(runs),
            failures=sum(m.failures for m in runs),
        )
        for case, runs in by_case.items()
    ]
    rows += [Row(case=case, note=note) for case, note in unavailable.items() if case not in by_case]
    return with_ratios(rows)


def best_peer(rows: Sequence[Row], figure: str) -> float | None:
    values = [row.figures[figure] for row in rows if row.case.implementation in PEERS and figure in row.figures]
    if not values:
        return None
    return max(values) if figure in HIGHER_IS_BETTER else min(values)


def with_ratios(rows: Sequence[Row]) -> list[Row]:
    cells: dict[tuple[str, int, int, int], list[Row]] = {}
    for row in rows:
        cells.setdefault(row.case.group(), []).append(row)
    out: list[Row] = []
    for row in rows:
        ratios: dict[str, float] = {}
        for figure, value in row.figures.items():
            best = best_peer(cells[row.case.group()], figure)
            if best:
                ratios[figure] = value / best
        out.append(Row(row.case, row.figures, row.rounds, row.failures, row.note, ratios))
    return sorted(
        out,
        key=lambda r: (r.case.workload, r.case.latency_ms, r.case.workers, r.case.connections, r.case.implementation),
    )
