"""Starting and stopping the processes under test, each in its own process group."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, Any

HOST = "127.0.0.1"


class Process:
    """A child process (and its own children) that `stop` ends by process group."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        log: Path,
    ) -> None:
        self.name = name
        self.log_path = log
        self._log: IO[bytes] = log.open("wb")
        self.popen = subprocess.Popen(  # noqa: S603  (argv built by the benchmark itself)
            list(argv),
            env={**os.environ, **(env or {})},
            cwd=cwd,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def stop(self, timeout_s: float = 5.0) -> None:
        if self.alive():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(timeout_s)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait(timeout_s)
        self._log.close()

    def tail(self, lines: int = 15) -> str:
        text = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])


def post_raw(url: str, body: Mapping[str, Any], *, timeout_s: float = 10.0) -> tuple[int, bytes]:
    """POST `body` as JSON (the bytes autocannon sends); the status and the answer's bytes."""
    request = urllib.request.Request(  # noqa: S310  (loopback only)
        url, data=json.dumps(body).encode(), headers={"content-type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:  # noqa: S310
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def post_json(url: str, body: Mapping[str, Any], *, timeout_s: float = 10.0) -> tuple[int, Any]:
    status, raw = post_raw(url, body, timeout_s=timeout_s)
    return status, json.loads(raw or b"null")


def get_json(url: str, *, timeout_s: float = 10.0) -> Any:
    with urllib.request.urlopen(url, timeout=timeout_s) as response:  # noqa: S310  (loopback only)
        return json.loads(response.read())


def wait_until_answers(process: Process, url: str, *, timeout_s: float = 60.0) -> None:
    """Until `{ __typename }` gets a 200 at `url`; fails early if the process died."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not process.alive():
            raise RuntimeError(f"{process.name} exited during start-up:\n{process.tail()}")
        with contextlib.suppress(OSError, ValueError):
            status, _ = post_json(url, {"query": "{ __typename }"}, timeout_s=2.0)
            if status == 200:
                return
        time.sleep(0.2)
    raise RuntimeError(f"{process.name} did not answer at {url} within {timeout_s:.0f} s:\n{process.tail()}")
