"""The report's summary: Mobius as a multiple of the fair yoga peer and of the two floors, the p50 of
a lone user at 20 ms upstreams, and issue 16's targets with pass or miss."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from bench.results import OURS, Row

YOGA = "yoga"
FLOOR_IO = "floor-io"
FLOOR_BYTES = "floor-bytes"
CPU = "cpu_ms_per_request"
LONE_USER_LATENCY_MS = 20
P50_TARGET_MS = 2 * LONE_USER_LATENCY_MS + 5
"""Two levels of upstream round trips at 20 ms, plus 5 ms for everything else."""
DASHBOARDS = ("dashboard", "dashboard-5k", "dashboard-61k", "dashboard-warm", "dashboard-warm-redis")

Cell = tuple[str, int, int, int]


@dataclass(frozen=True, slots=True)
class Target:
    name: str
    limit: float
    unit: str
    measure: Callable[[dict[tuple[str, Cell], Row]], list[tuple[Cell, float]]]
    """(cell, value) for every cell the target reads; the worst must be within `limit`."""


def _index(rows: Sequence[Row]) -> dict[tuple[str, Cell], Row]:
    return {(row.case.implementation, row.case.group()): row for row in rows if row.available}


def _cell_text(cell: Cell) -> str:
    workload, workers, latency, clients = cell
    return f"{workload} w={workers} {latency} ms c={clients}"


def _ratio(index: dict[tuple[str, Cell], Row], cell: Cell, peer: str) -> float | None:
    ours, theirs = index.get((OURS, cell)), index.get((peer, cell))
    if ours is None or theirs is None or not theirs.figures.get(CPU):
        return None
    return ours.figures[CPU] / theirs.figures[CPU]


def _ratios_to(peer: str, workload: str) -> Callable[[dict[tuple[str, Cell], Row]], list[tuple[Cell, float]]]:
    def measure(index: dict[tuple[str, Cell], Row]) -> list[tuple[Cell, float]]:
        found = []
        for name, cell in index:
            ratio = _ratio(index, cell, peer) if name == OURS and cell[0] == workload else None
            if ratio is not None:
                found.append((cell, ratio))
        return found

    return measure


def _ours(
    figure: str, keep: Callable[[Cell], bool], scale: Callable[[Row], float] = lambda _: 1.0
) -> Callable[[dict[tuple[str, Cell], Row]], list[tuple[Cell, float]]]:
    def measure(index: dict[tuple[str, Cell], Row]) -> list[tuple[Cell, float]]:
        return [
            (cell, row.figures[figure] * scale(row))
            for (name, cell), row in index.items()
            if name == OURS and keep(cell) and figure in row.figures
        ]

    return measure


TARGETS = (
    Target("dashboard CPU per request <= 1.0x the fair yoga peer", 1.0, "x", _ratios_to(YOGA, "dashboard")),
    Target("dashboard CPU per request <= 2.0x floor-io", 2.0, "x", _ratios_to(FLOOR_IO, "dashboard")),
    Target(
        "warm dashboard (entity cache in-process) <= 2.0 ms CPU",
        2.0,
        " ms",
        _ours(CPU, lambda c: c[0] == "dashboard-warm"),
    ),
    Target(
        f"dashboard p50 at 1 client, {LONE_USER_LATENCY_MS} ms upstreams <= {P50_TARGET_MS} ms",
        P50_TARGET_MS,
        " ms",
        _ours("p50_ms", lambda c: c[0] == "dashboard" and c[2] == LONE_USER_LATENCY_MS and c[3] == 1),
    ),
    Target("RSS per worker <= 150 MB", 150.0, " MB", _ours("rss_mb_per_worker", lambda _: True)),
)


def _fmt(value: float | None, digits: int = 2, suffix: str = "") -> str:
    return "" if value is None else f"{value:.{digits}f}{suffix}"


def targets_section(rows: Sequence[Row]) -> list[str]:
    index = _index(rows)
    lines = [
        "## Issue 16 targets",
        "",
        "The worst cell each target reads (every measured workers x upstream latency x clients cell).",
        "",
        "| target | worst | where | cells | verdict |",
        "|---|---|---|---|---|",
    ]
    for target in TARGETS:
        found = target.measure(index)
        if not found:
            lines.append(f"| {target.name} | | | 0 | not measured |")
            continue
        cell, worst = max(found, key=lambda item: item[1])
        verdict = "pass" if worst <= target.limit else "**miss**"
        lines.append(f"| {target.name} | {worst:.2f}{target.unit} | {_cell_text(cell)} | {len(found)} | {verdict} |")
    return [*lines, ""]


def ratios_section(rows: Sequence[Row]) -> list[str]:
    """Mobius's CPU per request as a multiple of the fair yoga peer, floor-io and floor-bytes, per cell."""
    index = _index(rows)
    lines = [
        "## Mobius against the fair yoga peer and the floors (CPU per request)",
        "",
        "`x` = Mobius's CPU ms per request divided by the other's in the same cell (medians of the rounds).",
        "",
        "| workload | workers | latency ms | clients | mobius ms | yoga ms | x yoga | floor-io ms | x floor-io "
        "| floor-bytes ms | x floor-bytes | mobius RSS MB/worker |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for (name, cell), row in sorted(index.items(), key=lambda item: item[0][1]):
        if name != OURS:
            continue
        workload, workers, latency, clients = cell
        others = {peer: index.get((peer, cell)) for peer in (YOGA, FLOOR_IO, FLOOR_BYTES)}
        cells = [workload, str(workers), str(latency), str(clients), _fmt(row.figures.get(CPU))]
        for peer, other in others.items():
            cells += [_fmt(other.figures.get(CPU) if other else None), _fmt(_ratio(index, cell, peer), suffix="x")]
        cells.append(_fmt(row.figures.get("rss_mb_per_worker"), 0))
        lines.append("| " + " | ".join(cells) + " |")
    return [*lines, ""]


def lone_user_section(rows: Sequence[Row]) -> list[str]:
    """p50 of one client at 20 ms upstream latency: what a lone user waits."""
    chosen = [
        row
        for row in rows
        if row.available
        and row.case.connections == 1
        and row.case.latency_ms == LONE_USER_LATENCY_MS
        and row.case.workload in DASHBOARDS
        and row.case.implementation != FLOOR_BYTES
    ]
    lines = [
        f"## p50 at 1 client, {LONE_USER_LATENCY_MS} ms upstreams",
        "",
        f"Target for Mobius's dashboard: 2 levels x {LONE_USER_LATENCY_MS} ms + 5 ms = {P50_TARGET_MS} ms "
        "(autocannon reports whole milliseconds). floor-io makes the same upstream requests in the same 2 "
        "levels with no gateway work: its p50 is what this machine and sandbox allow at all.",
        "",
        "| workload | workers | impl | p50 ms | p99 ms | against the target |",
        "|---|---|---|---|---|---|",
    ]
    for row in sorted(chosen, key=lambda r: (r.case.workload, r.case.workers, r.case.implementation)):
        p50 = row.figures["p50_ms"]
        targeted = row.case.implementation == OURS and row.case.workload == "dashboard"
        verdict = ("pass" if p50 <= P50_TARGET_MS else "**miss**") if targeted else ""
        name = f"**{OURS}**" if row.case.implementation == OURS else row.case.implementation
        p99 = row.figures["p99_ms"]
        lines.append(f"| {row.case.workload} | {row.case.workers} | {name} | {p50:.1f} | {p99:.1f} | {verdict} |")
    return [*lines, ""]


def summary(rows: Sequence[Row]) -> list[str]:
    return [*targets_section(rows), *ratios_section(rows), *lone_user_section(rows)]
