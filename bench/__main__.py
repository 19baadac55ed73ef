"""`python -m bench` (via `scripts/bench`): run the side-by-side benchmark and write the report."""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path

from bench import report
from bench.implementations import ROOT, SandboxPorts
from bench.results import aggregate
from bench.run import FLOOR_BYTES, FLOOR_IO, METRICS_OFF, TRACED, Bench, Options, install_peers, log
from bench.workloads import workloads

ALL_IMPLEMENTATIONS = ("mobius", "hive", "yoga", FLOOR_BYTES, FLOOR_IO)


def _ints(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part.strip()]


def _load(load: tuple[float, float, float]) -> str:
    return "/".join(f"{value:.1f}" for value in load)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="scripts/bench", description=__doc__)
    parser.add_argument(
        "--quick", action="store_true", help="smoke run: 3 s runs, 1 round, 1 worker unless --workers says otherwise"
    )
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per timed run (default 10)")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds of warm-up per workload (default 3)")
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds (default 2)")
    parser.add_argument(
        "--connections", type=_ints, default=[1, 10], help="concurrent clients, e.g. 1,10 (default; 1: a lone user)"
    )
    parser.add_argument("--workers", type=_ints, default=None, help="worker counts, e.g. 1,2 (default; 1 with --quick)")
    parser.add_argument("--latency", type=_ints, default=[0, 20], help="upstream latencies in ms (default 0,20)")
    parser.add_argument("--impl", default=",".join(ALL_IMPLEMENTATIONS), help="implementations (default all)")
    parser.add_argument("--workload", default=",".join(w.name for w in workloads()), help="workloads (default all)")
    parser.add_argument("--sandbox-ports", type=_ints, default=[18101, 18102, 18103])
    parser.add_argument(
        "--port-base",
        type=int,
        default=18000,
        help="mobius :N, hive :N+1, yoga :N+2, cached :N+3, telemetry variants :N+4, :N+5, floor-bytes :N+6, "
        "floor-io :N+7, warm entity cache :N+8, in Redis :N+9",
    )
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0", help="Redis of `dashboard-warm-redis`")
    parser.add_argument("--gc-threshold", type=int, default=None, help="Mobius runtime.gc_gen0_threshold")
    parser.add_argument("--no-gc-freeze", action="store_true", help="Mobius runtime.gc_freeze: false")
    parser.add_argument(
        "--no-telemetry-variants",
        action="store_true",
        help=f"skip the dashboard on {METRICS_OFF} (metrics off) and {TRACED} (every request traced)",
    )
    parser.add_argument(
        "--cache-settings",
        default='{"enabled": true, "response": {"enabled": true}}',
        help="JSON for Mobius's `cache` settings in the warm-cache workload (default: the in-process store with "
        "the response cache; every other workload runs uncached)",
    )
    parser.add_argument("--note", action="append", default=[], help="a line for the report's notes (repeatable)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results", help="logs, answers and results.json")
    parser.add_argument("--report", type=Path, default=ROOT / "bench" / "RESULTS.md")
    parser.add_argument("--render", type=Path, default=None, help="only re-render --report from this results.json")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.render is not None:
        payload = json.loads(args.render.read_text())
        args.report.write_text(report.markdown(report.rows_from_json(payload), payload["meta"]), encoding="utf-8")
        return 0
    if args.quick:
        args.duration, args.warmup, args.rounds = 3.0, 1.0, 1
    if args.workers is None:
        args.workers = [1] if args.quick else [1, 2]
    cache = json.loads(args.cache_settings)
    runtime: dict[str, object] = {"gc_freeze": not args.no_gc_freeze}
    if args.gc_threshold is not None:
        runtime["gc_gen0_threshold"] = args.gc_threshold
    base = args.port_base
    options = Options(
        duration_s=args.duration,
        warmup_s=args.warmup,
        rounds=args.rounds,
        connections=args.connections,
        workers=args.workers,
        latencies_ms=args.latency,
        implementations=[name for name in args.impl.split(",") if name],
        workloads=[name for name in args.workload.split(",") if name],
        sandbox=SandboxPorts(*args.sandbox_ports),
        ports={
            "mobius": base,
            "hive": base + 1,
            "yoga": base + 2,
            "mobius-cache": base + 3,
            METRICS_OFF: base + 4,
            TRACED: base + 5,
            FLOOR_BYTES: base + 6,
            FLOOR_IO: base + 7,
            "mobius-warm": base + 8,
            "mobius-warm-redis": base + 9,
        },
        runtime=runtime,
        cache=cache,
        out_dir=args.out,
        telemetry_variants=not args.no_telemetry_variants,
        redis_url=args.redis_url,
    )
    install_peers()
    bench = Bench(options)
    notes: list[str] = list(args.note)
    load_before = os.getloadavg()
    try:
        bench.run()
    except (RuntimeError, OSError) as exc:
        log(f"stopped early: {exc}")
        notes.append(f"run stopped early: {str(exc).splitlines()[0]}")
    load_after = os.getloadavg()
    notes.append(
        f"load average (1, 5, 15 min) at the start {_load(load_before)}, at the end {_load(load_after)}, on "
        f"{os.cpu_count()} cores: the benchmark's own processes plus whatever else ran on the machine"
    )
    rows = aggregate(bench.measurements, bench.unavailable)
    meta = {
        "command": " ".join(["scripts/bench", shlex.join(sys.argv[1:] if argv is None else list(argv))]).strip(),
        "date": report.now(),
        "rounds": options.rounds,
        "duration_s": options.duration_s,
        "warmup_s": options.warmup_s,
        "connections": options.connections,
        "mobius_runtime": runtime,
        "machine": report.machine(),
        "versions": report.versions(),
        "auth": bench.auth,
        "preflight": bench.preflight.verdicts,
        "notes": [*notes, *report.telemetry_costs(rows)],
    }
    report.write(rows, meta, args.report, options.out_dir / "results.json")
    log(f"wrote {args.report} and {options.out_dir / 'results.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
