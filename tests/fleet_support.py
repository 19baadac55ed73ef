"""A gateway fleet on loopback, as production runs it: several `mobius serve` processes behind a
real nginx (Debian's package; ``scripts/ensure-test-tools`` installs it when absent), on one Redis.

Each nginx gets its own config, port and temporary directory; each replica its own config file,
port and instance name. Everything started here is stopped by the context managers.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from harness import free_port

_START_TIMEOUT_S = 30.0


def nginx_binary() -> str:
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if found is None:
        raise RuntimeError("nginx is not installed: scripts/test installs it (scripts/ensure-test-tools)")
    return found


def _answers(url: str) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            status: int = response.status
            return status
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return None


def _wait(ready: Any, what: str, process: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + _START_TIMEOUT_S
    while time.monotonic() < deadline:
        if ready():
            return
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{what}: the process exited with {process.returncode}")
        time.sleep(0.05)
    raise RuntimeError(f"timed out waiting for {what}")


class Replica:
    """One `mobius serve` process with its own config file (JSON is YAML) and port."""

    def __init__(self, config: dict[str, Any], directory: Path, name: str) -> None:
        self.name = name
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.config_path = directory / f"{name}.yaml"
        self.config_path.write_text(json.dumps({**config, "instance": {**config.get("instance", {}), "name": name}}))
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        argv = [sys.executable, "-m", "mobius.cli", "serve", "--config", str(self.config_path)]
        argv += ["--port", str(self.port)]
        self.process = subprocess.Popen(  # noqa: S603
            argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
        )

    def wait_ready(self) -> None:
        _wait(lambda: _answers(f"{self.url}/health/ready") == 200, f"replica {self.name} to be ready", self.process)

    def kill(self) -> None:
        """SIGKILL: no drain, no goodbye."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def terminate(self) -> None:
        """SIGTERM: the gateway drains and exits (``stop`` waits for it)."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)

    def stop(self) -> None:
        self.terminate()
        if self.process is not None:
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()


class Nginx:
    """nginx in front of the replicas (round robin, a dead replica skipped for 5 s)."""

    def __init__(self, upstream_ports: list[int], directory: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.directory = directory
        servers = "\n".join(f"    server 127.0.0.1:{port} max_fails=1 fail_timeout=5s;" for port in upstream_ports)
        (directory / "nginx.conf").write_text(
            f"""
worker_processes 1;
daemon off;
pid {directory}/nginx.pid;
error_log {directory}/error.log warn;
events {{ worker_connections 512; }}
http {{
  access_log off;
  client_body_temp_path {directory}/body;
  proxy_temp_path {directory}/proxy;
  fastcgi_temp_path {directory}/fastcgi;
  uwsgi_temp_path {directory}/uwsgi;
  scgi_temp_path {directory}/scgi;
  upstream gateways {{
{servers}
    keepalive 32;
  }}
  server {{
    listen 127.0.0.1:{self.port};
    location / {{
      proxy_pass http://gateways;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_next_upstream error timeout;
      proxy_connect_timeout 1s;
    }}
  }}
}}
"""
        )
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Nginx:
        self.process = subprocess.Popen(  # noqa: S603
            [nginx_binary(), "-p", str(self.directory), "-c", str(self.directory / "nginx.conf")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _wait(lambda: _answers(f"{self.url}/health/live") == 200, "nginx to answer", self.process)
        return self

    def __exit__(self, *_: object) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


class Fleet:
    """``replicas`` gateway processes on one config, behind one nginx."""

    def __init__(self, config: dict[str, Any], replicas: int) -> None:
        self.directory = Path(tempfile.mkdtemp(prefix="mobius-fleet-"))
        self.directory.chmod(0o755)  # nginx's workers run as another user
        self.replicas = [Replica(config, self.directory, f"replica-{n}") for n in range(replicas)]
        self.nginx: Nginx | None = None

    @property
    def url(self) -> str:
        assert self.nginx is not None
        return self.nginx.url

    def __enter__(self) -> Fleet:
        try:
            for replica in self.replicas:
                replica.start()
            for replica in self.replicas:
                replica.wait_ready()
            self.nginx = Nginx([replica.port for replica in self.replicas], self.directory).__enter__()
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *_: object) -> None:
        if self.nginx is not None:
            self.nginx.__exit__()
        for replica in self.replicas:
            replica.terminate()
        for replica in self.replicas:
            replica.stop()
        shutil.rmtree(self.directory, ignore_errors=True)
