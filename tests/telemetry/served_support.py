"""A gateway as operators run it: `mobius serve` in its own process (with its own environment),
against the session's sandbox; stopped with SIGTERM, its output kept in a file."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from harness import free_port

from mobius.demo import sandbox_upstreams
from sandbox import SandboxCredentials, SandboxUrls


class ServedGateway:
    def __init__(
        self,
        sandbox_server: tuple[SandboxUrls, SandboxCredentials],
        directory: Path,
        *,
        workers: int = 1,
        env: Mapping[str, str] | None = None,
        settings: Mapping[str, Any] | None = None,
    ) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = {"server": {"graphiql": False}, "upstreams": sandbox_upstreams(*sandbox_server), **(settings or {})}
        self.config = directory / "mobius.yaml"
        self.config.write_text(json.dumps(config))
        self.output = directory / "gateway.log"
        self.argv = [
            sys.executable,
            "-m",
            "mobius.cli",
            "serve",
            "--config",
            str(self.config),
            "--port",
            str(self.port),
        ]
        self.argv += ["--workers", str(workers)]
        self.env = {**os.environ, **(env or {})}
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> ServedGateway:
        with self.output.open("wb") as output:
            self.process = subprocess.Popen(  # noqa: S603
                self.argv, stdout=output, stderr=subprocess.STDOUT, env=self.env, start_new_session=True
            )
        try:
            self._wait_live()
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *_: object) -> None:
        """Stops the gateway if it still runs; one that ignores SIGTERM is killed, so that no test
        leaves a server behind (a failed start included: ``__enter__`` calls this too)."""
        if self.process is None or self.process.poll() is not None:
            return
        try:
            self.stop()
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
            raise

    def _wait_live(self) -> None:
        assert self.process is not None
        deadline = time.monotonic() + 60  # generous: a loaded machine starts two workers slowly
        while not self._live():
            assert self.process.poll() is None, self.output.read_text()
            assert time.monotonic() < deadline, "the gateway did not start"
            time.sleep(0.1)

    def stop(self) -> int:
        """SIGTERM (to the whole process group: workers too), then its exit status."""
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGTERM)
        return self.process.wait(timeout=30)

    def _live(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/health/live", timeout=1) as response:
                return bool(response.status == 200)
        except OSError:
            return False
