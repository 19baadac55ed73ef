"""What a server does per request while it waits on its upstreams: syscalls by kind, event-loop
turns (``epoll_wait``), context switches by thread, and CPU, for Mobius and for floor-io.

Both serve one worker in a process of their own against the sandbox (in a child process, its
latency set for every upstream); N cold dashboards are sent by C clients at once (one keep-alive
connection each) while ``strace -f -c`` counts the worker's syscalls. A second, untraced pass of
the same requests reads the worker's CPU and context switches (strace slows the traced process).

    .venv/bin/python -m bench.wakeups --latency-ms 20 --clients 1 -n 200
"""

from __future__ import annotations

import argparse
import json
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


def runtime_ms(pid: int) -> float:
    """CPU time of every thread of ``pid`` as the scheduler counts it (``schedstat``, nanoseconds),
    not sampled at clock ticks as ``/proc/<pid>/stat``'s user and system times are."""
    return sum(int((task / "schedstat").read_text().split()[0]) for task in Path(f"/proc/{pid}/task").iterdir()) / 1e6


def switches(pid: int) -> dict[str, int]:
    """Context switches (voluntary + involuntary) of each thread of ``pid``, by thread name and id."""
    counts = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        status = (task / "status").read_text()
        name = re.search(r"^Name:\s*(.*)$", status, re.M)
        fields = dict(re.findall(r"^(\w+_ctxt_switches):\s*(\d+)$", status, re.M))
        label = f"{name.group(1) if name else '?'}/{task.name}"
        counts[label] = int(fields["voluntary_ctxt_switches"]) + int(fields["nonvoluntary_ctxt_switches"])
    return counts


def _syscalls(pid: int, load: Load, n: int, workdir: Path) -> dict[str, int]:
    strace = shutil.which("strace")
    if strace is None:
        raise SystemExit("strace is not installed")
    out = workdir / f"strace-{pid}.txt"
    tracer = subprocess.Popen([strace, "-f", "-c", "-o", str(out), "-p", str(pid)], stderr=subprocess.DEVNULL)  # noqa: S603
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
def serving(argv: list[str], port: int) -> Iterator[int]:
    """A server started with ``argv``, listening on ``port``, stopped on the way out: its pid."""
    server = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # noqa: S603  (our own command line)
    try:
        wait_ready(port, server)
        yield server.pid
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=60)


def measure(name: str, pid: int, load: Load, args: argparse.Namespace, workdir: Path) -> str:
    """The per-request figures of the server ``pid`` (warmed up first), as lines to print."""
    load.send(args.warmup)
    time.sleep(_SETTLE_S)
    before_cpu, before_switches, before_run = cpu_s(pid), switches(pid), runtime_ms(pid)
    load.send(args.n)
    time.sleep(_SETTLE_S)
    after_cpu, after_switches, after_run = cpu_s(pid), switches(pid), runtime_ms(pid)
    calls = _syscalls(pid, load, args.n, workdir)
    per = 1 / args.n
    user, system = ((a - b) * per * 1000 for a, b in zip(after_cpu, before_cpu, strict=True))
    lines = [
        f"{name}: CPU {user + system:.3f} ms per request (user {user:.3f}, system {system:.3f}); "
        f"scheduler's runtime {(after_run - before_run) * per:.3f} ms"
    ]
    lines.append(f"  syscalls per request {sum(calls.values()) * per:.1f}:")
    for call, count in sorted(calls.items(), key=lambda item: -item[1]):
        if count * per >= 0.05:
            lines.append(f"    {call:<20} {count * per:7.2f}")
    lines.append("  context switches per request by thread:")
    for thread, count in sorted(after_switches.items()):
        lines.append(f"    {thread:<30} {(count - before_switches.get(thread, 0)) * per:7.2f}")
    return "\n".join(lines)


def run(args: argparse.Namespace, urls: SandboxUrls, workdir: Path) -> list[str]:
    """Mobius measured, then floor-io answering Mobius's own bytes."""
    set_latency(dict(urls.items()), args.latency_ms)
    body, plan = _dashboard()
    port = free_port()
    config = workdir / "mobius.json"
    config.write_text(json.dumps(server_config(urls, port, "cold", metrics=not args.no_metrics)))
    with serving([sys.executable, "-m", "mobius.cli", "serve", "--config", str(config)], port) as pid:
        reference = Client(port, body)
        reference.connection.request("POST", "/graphql", body, reference.headers)
        answered = reference.connection.getresponse().read()
        reference.connection.close()
        results = [measure("mobius", pid, Load(port, body, args.clients), args, workdir)]
    if args.mobius_only:
        return results
    floor_path = workdir / "floor.json"
    floor = FloorConfig({body: Answer(answered, plan)}, dict(urls.items()), floor_credentials())
    floor_path.write_text(floor.to_json(), encoding="utf-8")
    port = free_port()
    floor_io = [sys.executable, "-m", "bench.floor", "io", "--config", str(floor_path), "--port", str(port)]
    with serving(floor_io, port) as pid:
        results.append(measure("floor-io", pid, Load(port, body, args.clients), args, workdir))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--latency-ms", type=int, default=20)
    parser.add_argument("--clients", type=int, default=1)
    parser.add_argument("-n", type=int, default=200, help="timed requests (each pass)")
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--mobius-only", action="store_true", help="leave floor-io out")
    parser.add_argument("--no-metrics", action="store_true", help="telemetry.metrics.enabled: false")
    args = parser.parse_args()
    with sandbox_running() as urls, tempfile.TemporaryDirectory(prefix="wakeups-") as workdir:
        for result in run(args, urls, Path(workdir)):
            print(result)


if __name__ == "__main__":
    main()
