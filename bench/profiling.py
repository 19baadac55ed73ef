"""What the in-process profilers share: the sandbox in a child process and the timed part.

``bench.profile_dashboard``, ``bench.profile_calls`` and ``bench.profile_server`` each run the
sandbox upstreams in a child process (so what the measured process spends is its own) and time a
stretch of work with process time, optionally under cProfile and with callgrind's collection
switched on around it only.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import multiprocessing
import os
import pstats
import resource
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sandbox import SandboxServer, SandboxUrls
from sandbox.server import DEFAULT_CREDENTIALS


def sandbox_process(conn: Any) -> None:
    with SandboxServer(credentials=DEFAULT_CREDENTIALS, freeze_start_up=True) as urls:
        conn.send(dict(urls.items()))
        conn.recv()


@contextmanager
def sandbox_running() -> Iterator[SandboxUrls]:
    """The sandbox upstreams in a child process, stopped on the way out."""
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe()
    sandbox = ctx.Process(target=sandbox_process, args=(child,), daemon=True)
    sandbox.start()
    urls = SandboxUrls(**parent.recv())
    gc.collect()
    try:
        yield urls
    finally:
        parent.send("stop")
        sandbox.join(timeout=10)


def callgrind(switch: str, pid: int | None = None) -> None:
    """Switch callgrind's instrumentation of this process (or of our child ``pid``) on or off."""
    control = shutil.which("callgrind_control")
    if control is None:
        raise SystemExit("--callgrind: callgrind_control is not installed (valgrind)")
    target = str(os.getpid() if pid is None else pid)
    subprocess.run([control, "-i", switch, target], check=True, capture_output=True)  # noqa: S603  (our own pid or child's)


@dataclass
class Timed:
    """The process time a ``timed`` block took, and its cProfile when one was asked for."""

    spent_s: float = 0.0
    """Process time (user and system)."""
    user_s: float = 0.0
    system_s: float = 0.0
    wall_s: float = 0.0
    waits: int = 0
    """Voluntary context switches: how often the process slept (on the event loop, waiting for I/O)."""
    preempted: int = 0
    """Involuntary context switches: how often the kernel took the CPU away (other work on the machine)."""
    profiler: cProfile.Profile | None = None

    def summary(self, count: int, what: str) -> str:
        """Per ``what`` (``count`` of them): process time, its user and system parts, wall time and
        context switches."""
        per = 1000 / count
        return (
            f"{self.spent_s * per:.3f} ms CPU each (process time; user {self.user_s * per:.3f} ms, "
            f"system {self.system_s * per:.3f} ms), {self.wall_s * per:.3f} ms wall; per {what} "
            f"{self.waits / count:.1f} waits, {self.preempted / count:.1f} preemptions"
        )

    def print_profile(self, sort: str, top: int) -> None:
        if self.profiler is not None:
            pstats.Stats(self.profiler, stream=sys.stderr).sort_stats(sort).print_stats(top)


def add_timing_options(parser: argparse.ArgumentParser) -> None:
    """The options of an in-process profiler's timed part: cProfile, callgrind, metrics off."""
    parser.add_argument("--profile", action="store_true", help="print a cProfile top list")
    parser.add_argument("--sort", default="tottime", help="cProfile sort key (tottime, cumulative)")
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--callgrind", action="store_true", help="toggle callgrind collection around the timed part")
    parser.add_argument("--no-metrics", action="store_true", help="telemetry.metrics.enabled: false")


@contextmanager
def timed(*, profile: bool, with_callgrind: bool) -> Iterator[Timed]:
    """Process time over the block, under cProfile if ``profile``, callgrind collecting only inside it."""
    result = Timed(profiler=cProfile.Profile() if profile else None)
    if with_callgrind:
        callgrind("on")
    if result.profiler is not None:
        result.profiler.enable()
    before = resource.getrusage(resource.RUSAGE_SELF)
    wall = time.perf_counter()
    started = time.process_time()
    yield result
    result.spent_s = time.process_time() - started
    result.wall_s = time.perf_counter() - wall
    after = resource.getrusage(resource.RUSAGE_SELF)
    result.user_s = after.ru_utime - before.ru_utime
    result.system_s = after.ru_stime - before.ru_stime
    result.waits = after.ru_nvcsw - before.ru_nvcsw
    result.preempted = after.ru_nivcsw - before.ru_nivcsw
    if result.profiler is not None:
        result.profiler.disable()
    if with_callgrind:
        callgrind("off")
