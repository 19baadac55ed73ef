"""What a server does per request while it waits on its upstreams: syscalls by kind, event-loop
turns (``epoll_pwait``), context switches by thread, moves between CPUs, page faults and CPU time,
for Mobius and for floor-io.

Each serves ``--workers`` worker processes against the sandbox (in a child process, its latency
set for every upstream); N cold dashboards are sent by C clients at once (one keep-alive connection
each). A first pass reads the workers' CPU (``/proc`` ticks and the scheduler's own count), context
switches, CPU moves and page faults; a second pass of the same requests runs under ``strace -f -c``
(which slows the traced process) to count the workers' syscalls. ``--gc-log`` serves Mobius through
``bench.gc_serve`` and adds the garbage collections its processes ran during the first pass.

    .venv/bin/python -m bench.wakeups --latency-ms 20 --clients 1 -n 200
    .venv/bin/python -m bench.wakeups --latency-ms 20 --clients 10 -n 400 --workers 2 --mobius-only
    .venv/bin/python -m bench.wakeups --latency-ms 0 --clients 10 -n 2000 --mobius-only --gc-log
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from bench.floor import Answer, DashboardPlan, FloorConfig
from bench.gc_serve import GC_LOG_DIR_ENV, collections
from bench.gc_serve import summary as gc_summary
from bench.implementations import floor_credentials
from bench.load import set_latency
from bench.profile_server import Client, cpu_s, free_port, server_config, wait_ready
from bench.profiling import sandbox_running
from bench.workloads import workloads
from sandbox import SandboxUrls

_STRACE_LINE = re.compile(r"^\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:\d+\s+)?(\w+)\s*$")
_SETTLE_S = 0.5


def _dashboard() -> tuple[bytes, DashboardPlan | None]:
    """The reference dashboard's request body and its plan (what floor-io asks the upstreams)."""
    dashboard = next(w for w in workloads() if w.name == "dashboard")
    return json.dumps(dashboard.body()).encode(), dashboard.plan


@dataclass(frozen=True, slots=True)
class Load:
    """The requests sent to one server: ``clients`` at a time, one keep-alive connection each."""

    port: int
    body: bytes
    clients: int

    def send(self, n: int) -> None:
        """``n`` requests, shared among the clients."""
        per_client = [n // self.clients + (1 if i < n % self.clients else 0) for i in range(self.clients)]

        def run(count: int) -> None:
            client = Client(self.port, self.body)
            for _ in range(count):
                client.send()
            client.connection.close()

        with ThreadPoolExecutor(self.clients) as pool:
            list(pool.map(run, per_client))


def _cpu(pids: list[int]) -> tuple[float, float]:
    """User and system CPU time of ``pids`` together (``/proc/<pid>/stat``)."""
    times = [cpu_s(pid) for pid in pids]
    return sum(user for user, _ in times), sum(system for _, system in times)


def page_faults(pids: list[int]) -> tuple[int, int]:
    """Minor and major page faults of ``pids`` together (``/proc/<pid>/stat``): a minor one is a
    page the process touches for the first time since it was mapped (the kernel zeroes it)."""
    minor = major = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        minor += int(fields[7])
        major += int(fields[9])
    return minor, major


def _tasks(pids: list[int]) -> list[Path]:
    return [task for pid in pids for task in Path(f"/proc/{pid}/task").iterdir()]


def runtime_ms(pids: list[int]) -> float:
    """CPU time of every thread of ``pids`` as the scheduler counts it (``schedstat``, nanoseconds),
    not sampled at clock ticks as ``/proc/<pid>/stat``'s user and system times are."""
    return sum(int((task / "schedstat").read_text().split()[0]) for task in _tasks(pids)) / 1e6


def migrations(pids: list[int]) -> int:
    """Moves of the threads of ``pids`` from one CPU to another (their caches left behind)."""
    total = 0
    for task in _tasks(pids):
        found = re.search(r"^se\.nr_migrations\s*:\s*(\d+)$", (task / "sched").read_text(), re.M)
        total += int(found.group(1)) if found else 0
    return total


def switches(pids: list[int]) -> dict[str, int]:
    """Context switches (voluntary + involuntary) of each thread of ``pids``, by thread name and id."""
    counts = {}
    for task in _tasks(pids):
        status = (task / "status").read_text()
        name = re.search(r"^Name:\s*(.*)$", status, re.M)
        fields = dict(re.findall(r"^(\w+_ctxt_switches):\s*(\d+)$", status, re.M))
        label = f"{name.group(1) if name else '?'}/{task.name}"
        counts[label] = int(fields["voluntary_ctxt_switches"]) + int(fields["nonvoluntary_ctxt_switches"])
    return counts


def _syscalls(pids: list[int], load: Load, n: int, workdir: Path) -> dict[str, int]:
    strace = shutil.which("strace")
    if strace is None:
        raise SystemExit("strace is not installed")
    out = workdir / f"strace-{pids[0]}.txt"
    attach = [arg for pid in pids for arg in ("-p", str(pid))]
    tracer = subprocess.Popen([strace, "-f", "-c", "-o", str(out), *attach], stderr=subprocess.DEVNULL)  # noqa: S603
    time.sleep(_SETTLE_S)
    load.send(n)
    time.sleep(_SETTLE_S)
    tracer.send_signal(signal.SIGINT)
    tracer.wait(timeout=30)
    return parse_strace_summary(out.read_text())


def parse_strace_summary(text: str) -> dict[str, int]:
    """Calls by syscall from ``strace -c``'s table (its ``total`` row left out)."""
    calls = {}
    for line in text.splitlines():
        match = _STRACE_LINE.match(line)
        if match and match.group(2) != "total":
            calls[match.group(2)] = int(match.group(1))
    return calls


@contextmanager
def serving(argv: list[str], port: int, workers: int) -> Iterator[list[int]]:
    """A server started with ``argv``, listening on ``port``, stopped on the way out: the pids of
    its ``workers`` worker processes (itself when it runs one)."""
    server = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # noqa: S603  (our own command line)
    try:
        wait_ready(port, server)
        yield [server.pid] if workers == 1 else _workers_of(server.pid, workers)
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=60)


def _workers_of(pid: int, workers: int) -> list[int]:
    """The worker processes uvicorn spawned (``spawn_main`` in their command line), once all run."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        found = [int(child) for child in children if b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes()]
        if len(found) == workers:
            return found
        time.sleep(0.2)
    raise SystemExit(f"the server {pid} did not start {workers} workers")


def measure(
    name: str, pids: list[int], load: Load, args: argparse.Namespace, workdir: Path, *, gc_logs: Path | None = None
) -> str:
    """The per-request figures of the worker processes ``pids`` (warmed up first), as lines to print;
    with ``gc_logs`` (``bench.gc_serve``'s directory), the garbage collections of the timed pass too."""
    load.send(args.warmup)
    time.sleep(_SETTLE_S)
    since = time.monotonic()
    before_cpu, before_switches, before_run, before_moves, before_faults = (
        _cpu(pids),
        switches(pids),
        runtime_ms(pids),
        migrations(pids),
        page_faults(pids),
    )
    load.send(args.n)
    time.sleep(_SETTLE_S)
    after_cpu, after_switches, after_run, after_moves, after_faults = (
        _cpu(pids),
        switches(pids),
        runtime_ms(pids),
        migrations(pids),
        page_faults(pids),
    )
    until = time.monotonic()
    calls = _syscalls(pids, load, args.n, workdir)
    per = 1 / args.n
    minor, major = ((a - b) * per for a, b in zip(after_faults, before_faults, strict=True))
    user, system = ((a - b) * per * 1000 for a, b in zip(after_cpu, before_cpu, strict=True))
    lines = [
        f"{name}: CPU {user + system:.3f} ms per request (user {user:.3f}, system {system:.3f}); "
        f"scheduler's runtime {(after_run - before_run) * per:.3f} ms; "
        f"{(after_moves - before_moves) * per:.2f} moves to another CPU; page faults "
        f"{minor:.1f} minor, {major:.2f} major"
    ]
    lines.append(f"  syscalls per request {sum(calls.values()) * per:.1f}:")
    for call, count in sorted(calls.items(), key=lambda item: -item[1]):
        if count * per >= 0.05:
            lines.append(f"    {call:<20} {count * per:7.2f}")
    lines.append("  context switches per request by thread:")
    for thread, count in sorted(after_switches.items()):
        lines.append(f"    {thread:<30} {(count - before_switches.get(thread, 0)) * per:7.2f}")
    if gc_logs is not None:
        lines.append("  garbage collections in the timed pass:")
        lines.append(gc_summary(collections(gc_logs, since, until), args.n))
    return "\n".join(lines)


def run(args: argparse.Namespace, urls: SandboxUrls, workdir: Path) -> list[str]:
    """Mobius measured, then floor-io answering Mobius's own bytes."""
    set_latency(dict(urls.items()), args.latency_ms)
    body, plan = _dashboard()
    workers = ["--workers", str(args.workers)]
    port = free_port()
    config = workdir / "mobius.json"
    config.write_text(json.dumps(server_config(urls, port, "cold", metrics=not args.no_metrics)))
    gc_logs = workdir / "gc" if args.gc_log else None
    serve = [sys.executable, "-m", "mobius.cli"]
    if gc_logs is not None:
        gc_logs.mkdir()
        os.environ[GC_LOG_DIR_ENV] = str(gc_logs)
        serve = [sys.executable, "-m", "bench.gc_serve"]
    with serving([*serve, "serve", "--config", str(config), *workers], port, args.workers) as pids:
        reference = Client(port, body)
        reference.connection.request("POST", "/graphql", body, reference.headers)
        answered = reference.connection.getresponse().read()
        reference.connection.close()
        results = [measure("mobius", pids, Load(port, body, args.clients), args, workdir, gc_logs=gc_logs)]
    if args.mobius_only:
        return results
    floor_path = workdir / "floor.json"
    floor = FloorConfig({body: Answer(answered, plan)}, dict(urls.items()), floor_credentials())
    floor_path.write_text(floor.to_json(), encoding="utf-8")
    port = free_port()
    floor_io = [sys.executable, "-m", "bench.floor", "io", "--config", str(floor_path), "--port", str(port)]
    with serving([*floor_io, *workers], port, args.workers) as pids:
        results.append(measure("floor-io", pids, Load(port, body, args.clients), args, workdir))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--latency-ms", type=int, default=20)
    parser.add_argument("--clients", type=int, default=1)
    parser.add_argument("-n", type=int, default=200, help="timed requests (each pass)")
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--workers", type=int, default=1, help="worker processes of each server")
    parser.add_argument("--mobius-only", action="store_true", help="leave floor-io out")
    parser.add_argument("--gc-log", action="store_true", help="Mobius's garbage collections (bench.gc_serve)")
    parser.add_argument("--no-metrics", action="store_true", help="telemetry.metrics.enabled: false")
    args = parser.parse_args()
    with sandbox_running() as urls, tempfile.TemporaryDirectory(prefix="wakeups-") as workdir:
        for result in run(args, urls, Path(workdir)):
            print(result)


if __name__ == "__main__":
    main()
