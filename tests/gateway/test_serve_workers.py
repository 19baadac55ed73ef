"""`mobius serve --workers 2`: two worker processes on one port, each with the full settings."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

from harness import free_port

from bench.procstat import descendants, snapshot
from mobius.demo import sandbox_upstreams
from sandbox import SandboxCredentials, SandboxUrls


def config_for(urls: SandboxUrls, credentials: SandboxCredentials) -> dict[str, object]:
    return {"server": {"graphiql": False}, "upstreams": sandbox_upstreams(urls, credentials)}


def ask(url: str, query: str) -> Any:
    request = urllib.request.Request(
        url, data=json.dumps({"query": query}).encode(), headers={"content-type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def test_two_workers_serve_the_schema_on_one_port(
    sandbox_server: tuple[SandboxUrls, SandboxCredentials], tmp_path: Path
) -> None:
    config = tmp_path / "mobius.yaml"
    config.write_text(json.dumps(config_for(*sandbox_server)))
    port = free_port()
    argv = [sys.executable, "-m", "mobius.cli", "serve", "--config", str(config), "--port", str(port), "--workers", "2"]
    server = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)  # noqa: S603
    url = f"http://127.0.0.1:{port}/graphql"
    try:
        answered = None
        deadline = time.monotonic() + 30
        while answered is None and time.monotonic() < deadline and server.poll() is None:
            try:
                answered = ask(url, '{ user(id: "user-1") { id } }')
            except OSError:
                time.sleep(0.2)
        assert answered == {"data": {"user": {"id": "user-1"}}}
        workers = [stat for stat in descendants(server.pid, snapshot()) if stat.ppid == server.pid]
        assert len(workers) >= 2
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=15)
