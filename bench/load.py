"""The sandbox's side of a run and one timed load: the upstreams' latency, their request counts, and
autocannon's load with what it cost."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Mapping, Sequence

from bench import implementations as impl
from bench.processes import Process, get_json, post_json
from bench.procstat import usage_of
from bench.results import LoadResult, parse_autocannon
from bench.workloads import Workload

OAUTH_ROUTE = "POST /oauth/token"


def upstream_requests(sandbox: impl.SandboxPorts) -> int:
    """API requests so far over the three upstreams; token requests (one per worker process) excluded."""
    total = 0
    for name in sandbox.names():
        stats = get_json(f"{sandbox.url(name)}/_sandbox/stats")
        total += int(stats["requests"]) - int(stats["routes"].get(OAUTH_ROUTE, 0))
    return total


def set_latency(urls: Mapping[str, str], latency_ms: int) -> None:
    """Every upstream (its base URL by name) answers `latency_ms` late from now on."""
    for name, url in urls.items():
        status, body = post_json(f"{url}/_sandbox/faults", {"latency_ms": latency_ms})
        if status != 200:
            raise RuntimeError(f"sandbox {name} refused the latency fault: {body}")


def wait_for_sandbox(processes: Sequence[Process], ports: impl.SandboxPorts, timeout_s: float = 30.0) -> None:
    """Until every upstream answers its stats; an error if a sandbox process exits or `timeout_s` passes."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for process in processes:
            if not process.alive():
                raise RuntimeError(f"the sandbox exited:\n{process.tail()}")
        try:
            upstream_requests(ports)
        except OSError:
            time.sleep(0.2)
            continue
        return
    raise RuntimeError(f"the sandbox did not start:\n{process.tail()}")


def autocannon(url: str, workload: Workload, *, connections: int, duration_s: float) -> LoadResult:
    """`duration_s` of `workload` from autocannon's `connections` connections."""
    argv = [
        "node",
        str(impl.PEERS_DIR / "node_modules" / "autocannon" / "autocannon.js"),
        "--json",
        "-c", str(connections),
        "-d", str(duration_s),
        "-m", "POST",
        "-H", "content-type=application/json",
        "-b", json.dumps(workload.body()),
        url,
    ]  # fmt: skip
    done = subprocess.run(argv, capture_output=True, check=True, timeout=duration_s + 60)  # noqa: S603
    return parse_autocannon(json.loads(done.stdout))


def measure(
    process: Process,
    implementation: impl.Implementation,
    workload: Workload,
    sandbox: impl.SandboxPorts,
    sandboxes: Sequence[Process],
    *,
    connections: int,
    duration_s: float,
) -> tuple[LoadResult, dict[str, float]]:
    """One timed load of ``workload`` on ``process``: its latency and throughput, and the CPU, memory
    and upstream requests it cost the implementation and the sandbox (``sandboxes``) per request."""
    upstream_before = upstream_requests(sandbox)
    sandbox_before = sum(usage_of(p.pid).cpu_s for p in sandboxes)
    before = usage_of(process.pid)
    load = autocannon(implementation.url, workload, connections=connections, duration_s=duration_s)
    after = usage_of(process.pid)
    sandbox_after = sum(usage_of(p.pid).cpu_s for p in sandboxes)
    upstream_after = upstream_requests(sandbox)
    requests = max(load.requests, 1)
    figures = {
        "requests_per_s": load.requests_per_s,
        "p50_ms": load.p50_ms,
        "p99_ms": load.p99_ms,
        "cpu_ms_per_request": (after.cpu_s - before.cpu_s) * 1000 / requests,
        "rss_mb": after.rss_bytes / 1e6,
        "rss_mb_per_worker": after.largest_rss_bytes / 1e6,
        "upstream_per_request_under_load": (upstream_after - upstream_before) / requests,
        "sandbox_cpu_ms_per_request": (sandbox_after - sandbox_before) * 1000 / requests,
    }
    return load, figures
