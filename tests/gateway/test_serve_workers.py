"""`mobius serve --workers 2`: two worker processes on one port, each with the full settings."""

from __future__ import annotations

import http.client
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

KEEP_ALIVE_S = 1


def config_for(urls: SandboxUrls, credentials: SandboxCredentials) -> dict[str, object]:
    """``drain_s`` short: a SIGTERMed server may wait that long for requests in flight (none here);
    ``keep_alive_s`` under uvicorn's own 5 s, so that the test sees the setting take effect."""
    return {
        "server": {"graphiql": False, "drain_s": 2, "keep_alive_s": KEEP_ALIVE_S},
        "upstreams": sandbox_upstreams(urls, credentials),
    }


def closed_when_idle(port: int, idle_s: float) -> bool:
    """Whether the server closes a kept-alive connection that stayed idle ``idle_s`` after an answer."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", "/health/live")
        connection.getresponse().read()
        time.sleep(idle_s)
        sock = connection.sock
        assert sock is not None
        sock.settimeout(0.5)
        try:
            return sock.recv(1) == b""
        except TimeoutError:
            return False
    finally:
        connection.close()


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
        assert closed_when_idle(port, idle_s=KEEP_ALIVE_S + 1.5)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=15)


FLEET = """{ fleet { answeredBy
  instances { instance cacheStats { types { type misses } } } cacheStats { types { type misses } } } }"""


def user_misses(stats: dict[str, Any]) -> int:
    misses: int = next(row["misses"] for row in stats["types"] if row["type"] == "users")
    return misses


def test_with_two_workers_the_fleet_view_sums_both_and_every_answer_names_its_worker(
    sandbox_server: tuple[SandboxUrls, SandboxCredentials], redis_config: dict[str, str], tmp_path: Path
) -> None:
    config = tmp_path / "mobius.yaml"
    settings = {**config_for(*sandbox_server), "redis": redis_config, "instance": {"name": "pod-a", "report_s": 0.1}}
    config.write_text(json.dumps(settings))
    port = free_port()
    argv = [sys.executable, "-m", "mobius.cli", "serve", "--config", str(config), "--port", str(port), "--workers", "2"]
    server = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)  # noqa: S603
    url = f"http://127.0.0.1:{port}/graphql"
    try:
        fleet = None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and server.poll() is None:
            try:
                ask(url, '{ user(id: "user-1") { id } }')
                fleet = ask(url, FLEET)["data"]["fleet"]
            except OSError:
                fleet = None
            if fleet is not None and len(fleet["instances"]) == 2:
                break
            time.sleep(0.1)
        assert fleet is not None
        instances = [instance["instance"] for instance in fleet["instances"]]
        assert len(set(instances)) == 2
        assert all(instance.startswith("pod-a:") for instance in instances)
        assert fleet["answeredBy"] in instances
        assert user_misses(fleet["cacheStats"]) == sum(user_misses(i["cacheStats"]) for i in fleet["instances"])
        answered_by = {ask(url, "{ cacheStats { instance } }")["data"]["cacheStats"]["instance"] for _ in range(20)}
        assert answered_by <= set(instances)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=15)
