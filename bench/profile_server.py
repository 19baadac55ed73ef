"""Profile the gateway over HTTP: ``mobius serve`` in a process of its own, N requests sent to it
one at a time over one keep-alive connection, and what the server process spent on them.

Where ``bench.profile_dashboard`` drives the ASGI app in process, this one includes the HTTP
server (uvicorn, httptools, uvloop, as ``mobius serve`` runs them) and everything in front of the
executor. The sandbox upstreams run in a child process, this process only sends requests, so
what is counted is the server's alone. Workloads: ``typename`` (``{ __typename }``: the fixed
cost of a request), ``warm`` (the dashboard from the in-process entity cache, primed by the
warm-up; response cache off; TTLs of an hour), ``cold`` (the dashboard with the cache off, 7
upstream calls each).

    .venv/bin/python -m bench.profile_server --workload typename -n 2000    # CPU ms per request
    .venv/bin/python -m bench.profile_server --workload warm -n 50 --callgrind  # instructions per request

With ``--callgrind`` the server runs under ``valgrind --tool=callgrind --instr-atstart=no`` with
``PYTHONHASHSEED=0``; collection is switched on (``callgrind_control -i on``) only around the
timed requests, a pause before each switch letting the request before it finish its work after
the response (the request log); the figure is the ``Collected`` count divided by N, and the
profile is left in ``--out`` for ``callgrind_annotate``. Without it the figure is the server
process's CPU time (user + system) over the timed requests, which moves with the machine's load.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.profile_dashboard import QUERY
from bench.profiling import callgrind, sandbox_running
from mobius.demo import DEMO_CALLER_SCOPES, DEMO_CALLER_TOKEN, sandbox_identity_provider, sandbox_upstreams
from resolvers.loaders import declared_cache_types
from sandbox import SandboxUrls
from sandbox.server import DEFAULT_CREDENTIALS

HOST = "127.0.0.1"
WORKLOADS = {
    "typename": {"query": "{ __typename }"},
    "warm": {"query": QUERY, "variables": {"orgId": "org-1"}},
    "cold": {"query": QUERY, "variables": {"orgId": "org-1"}},
}
_HOUR_S = 3600.0
_SETTLE_S = 1.0
"""The pause before each switch: the request before it finishes (under callgrind, slowly)."""
_START_TIMEOUT_S = 600.0
_COLLECTED = re.compile(r"Collected : (\d+)")


def server_config(urls: SandboxUrls, port: int, workload: str, *, metrics: bool) -> dict[str, Any]:
    """The demo's settings (the demo caller, the sandbox's identity provider), as a config file."""
    cache: dict[str, Any] = {"enabled": workload == "warm", "response": {"enabled": False}}
    if workload == "warm":  # nothing expires during a slow run (see bench.profile_dashboard)
        cache["ttl_s"] = {ctype.name: _HOUR_S for ctype in declared_cache_types()}
        cache["l1"] = {"ttl_s": _HOUR_S}
    caller = {"name": "demo-admin", "token": DEMO_CALLER_TOKEN, "scopes": list(DEMO_CALLER_SCOPES), "user_id": "user-1"}
    return {
        "server": {"host": HOST, "port": port, "log_format": "json"},
        "upstreams": sandbox_upstreams(urls, DEFAULT_CREDENTIALS),
        "callers": [caller],
        "auth": sandbox_identity_provider(urls),
        "cache": cache,
        "telemetry": {"metrics": {"enabled": metrics}},
    }


class Client:
    """One keep-alive connection; each request must come back 200 without errors."""

    def __init__(self, port: int, body: bytes) -> None:
        self.connection = http.client.HTTPConnection(HOST, port, timeout=_START_TIMEOUT_S)
        self.body = body
        self.headers = {
            "content-type": "application/json",
            "accept": "application/graphql-response+json",
            "authorization": f"Bearer {DEMO_CALLER_TOKEN}",
        }

    def send(self) -> None:
        self.connection.request("POST", "/graphql", self.body, self.headers)
        response = self.connection.getresponse()
        answer = response.read()
        if response.status != 200 or b'"errors"' in answer:
            raise RuntimeError(f"request failed: {response.status} {answer[:300]!r}")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


def wait_ready(port: int, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + _START_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the server exited ({server.returncode}) before it answered")
        try:
            with socket.create_connection((HOST, port), timeout=1):
                return
        except OSError:
            time.sleep(0.5)
    raise SystemExit(f"the server did not listen on port {port} within {_START_TIMEOUT_S:.0f} s")


def cpu_s(pid: int) -> tuple[float, float]:
    """User and system CPU time of a process (from ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    tick_s = 1 / os.sysconf("SC_CLK_TCK")
    return int(fields[11]) * tick_s, int(fields[12]) * tick_s


def _server_argv(args: argparse.Namespace, config: Path) -> list[str]:
    argv = [sys.executable, "-m", "mobius.cli", "serve", "--config", str(config)]
    if not args.callgrind:
        return argv
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        raise SystemExit("--callgrind: valgrind is not installed")
    return [valgrind, "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={args.out}", *argv]


def measure(args: argparse.Namespace, urls: SandboxUrls, workdir: Path) -> str:
    port = free_port()
    config = workdir / "mobius.json"
    config.write_text(json.dumps(server_config(urls, port, args.workload, metrics=not args.no_metrics)))
    log = workdir / "server.log"
    env = {**os.environ, "PYTHONHASHSEED": "0"} if args.callgrind else dict(os.environ)
    with log.open("wb") as stderr:
        server = subprocess.Popen(  # noqa: S603  (our own command line)
            _server_argv(args, config), stdout=subprocess.DEVNULL, stderr=stderr, env=env
        )
    try:
        wait_ready(port, server)
        client = Client(port, json.dumps(WORKLOADS[args.workload]).encode())
        for _ in range(args.warmup):
            client.send()
        time.sleep(_SETTLE_S)
        if args.callgrind:
            callgrind("on", server.pid)
        before = cpu_s(server.pid)
        for _ in range(args.n):
            client.send()
        time.sleep(_SETTLE_S)
        after = cpu_s(server.pid)
        if args.callgrind:
            callgrind("off", server.pid)
        client.connection.close()
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=_START_TIMEOUT_S)
    if not args.callgrind:
        user_ms, system_ms = ((a - b) / args.n * 1000 for a, b in zip(after, before, strict=True))
        return (
            f"{args.workload} over HTTP: {args.n} requests, {user_ms + system_ms:.3f} ms CPU each "
            f"(server process: user {user_ms:.3f}, system {system_ms:.3f})"
        )
    collected = _COLLECTED.search(log.read_text(errors="replace"))
    if collected is None:
        raise SystemExit(f"no Collected count in the server's log:\n{log.read_text(errors='replace')[-2000:]}")
    per_request = int(collected.group(1)) / args.n
    return f"{args.workload} over HTTP: {args.n} requests, {per_request / 1e6:.3f}M instructions each ({args.out})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workload", choices=tuple(WORKLOADS), default="typename")
    parser.add_argument("-n", type=int, default=500, help="timed requests")
    parser.add_argument("--warmup", type=int, default=20, help="requests before timing (the first primes the cache)")
    parser.add_argument("--callgrind", action="store_true", help="run the server under callgrind, count instructions")
    parser.add_argument("--out", default="callgrind.profile_server.out", help="callgrind's output file")
    parser.add_argument("--no-metrics", action="store_true", help="telemetry.metrics.enabled: false")
    args = parser.parse_args()
    with sandbox_running() as urls, tempfile.TemporaryDirectory(prefix="profile-server-") as workdir:
        print(measure(args, urls, Path(workdir)), file=sys.stderr)


if __name__ == "__main__":
    main()
