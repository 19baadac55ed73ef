"""RSS of a `mobius serve` worker: idle after start, then after each quarter of N dashboards.

    .venv/bin/python -m bench.worker_memory -n 2000 --clients 10

Same settings as the benchmark's Mobius (full upstream auth, no caller JWT, no tracing, cache off),
the sandbox in child processes on loopback. The worker is the tree's largest process (with
``--workers 1`` the server process itself); its RSS is read from /proc.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

from bench import implementations as impl
from bench.processes import HOST, Process, post_raw
from bench.procstat import PAGE_BYTES, descendants, snapshot
from sandbox import default_registry

QUERY = (Path(__file__).parent / "queries" / "dashboard.graphql").read_text()
MB = 1_000_000


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


def worker_rss_mb(root: int) -> float:
    return max((stat.rss_pages for stat in descendants(root, snapshot())), default=0) * PAGE_BYTES / MB


def wait_until(ready: list[Process], url: str, body: dict[str, object], timeout_s: float = 120.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for process in ready:
            if not process.alive():
                raise SystemExit(f"{process.name} exited:\n{process.tail()}")
        try:
            if post_raw(url, body, timeout_s=2.0)[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"no answer from {url}")


async def dashboards(url: str, count: int, clients: int) -> None:
    body = json.dumps({"query": QUERY, "variables": {"orgId": "org-1"}}).encode()
    left = count

    async def client(session: aiohttp.ClientSession) -> None:
        nonlocal left
        while left > 0:
            left -= 1
            async with session.post(url, data=body, headers={"content-type": "application/json"}) as response:
                answer = await response.read()
                if response.status != 200 or b'"errors"' in answer:
                    raise SystemExit(f"dashboard failed: {response.status} {answer[:300]!r}")

    async with aiohttp.ClientSession() as session:
        await asyncio.gather(*(client(session) for _ in range(clients)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", type=int, default=2000, help="dashboards")
    parser.add_argument("--clients", type=int, default=10, help="dashboards in flight at once")
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    ports = impl.SandboxPorts(free_port(), free_port(), free_port())
    mobius = str(Path(sys.executable).parent / "mobius")
    children: list[Process] = []
    with tempfile.TemporaryDirectory() as scratch:
        try:
            for upstream in ports.names():
                argv = [mobius, "sandbox", "--host", HOST, "--unsigned-billing"]
                for name in default_registry().names():
                    argv += ["--port", f"{name}={ports.port(upstream) if name == upstream else 0}"]
                children.append(Process(f"sandbox-{upstream}", argv, log=Path(scratch, f"{upstream}.log")))
            port = free_port()
            config = Path(scratch, "mobius.json")
            config.write_text(json.dumps(impl.mobius_config(ports, port, {}, {})))
            for upstream in ports.names():
                wait_until(children, f"{ports.url(upstream)}/_sandbox/faults", {"latency_ms": 0})
            argv = [mobius, "serve", "--config", str(config), "--workers", str(args.workers)]
            gateway = Process("mobius", argv, log=Path(scratch, "mobius.log"))
            children.append(gateway)
            url = f"http://{HOST}:{port}/graphql"
            wait_until(children, url, {"query": "{ __typename }"})
            time.sleep(2.0)
            print(f"idle: {worker_rss_mb(gateway.pid):.1f} MB")
            for quarter in range(1, 5):
                asyncio.run(dashboards(url, args.n // 4, args.clients))
                print(f"after {quarter * (args.n // 4)} dashboards: {worker_rss_mb(gateway.pid):.1f} MB")
        finally:
            for child in reversed(children):
                child.stop()


if __name__ == "__main__":
    main()
