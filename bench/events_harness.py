"""What the event benchmarks share: a gateway process taking webhooks (no in-process worker), `mobius
worker` processes with a recording handler, signed billing webhooks, and what the handler recorded.

The recording handler (``recorder``, loaded with ``mobius worker --handler bench.events_harness:recorder``)
writes, in one Redis script per event: the event id into a hash the first time (``HSETNX``: an
effect applied once even when a crash repeats the delivery), the entity's version onto the entity's
list in that same first time, every call into a counter, and the webhook-to-handler delay.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import redis
import redis.asyncio as aioredis
import yaml
from standardwebhooks.webhooks import Webhook as StandardWebhook

from mobius.demo import sandbox_upstreams
from mobius.events.model import Event
from mobius.redis import redis_url
from mobius.settings import Settings
from sandbox import SandboxCredentials, SandboxUrls

ROOT = Path(__file__).resolve().parents[1]
SECRET = "whsec_" + "YmVuY2gtYmlsbGluZy13ZWJob29rLWtleQ=="
REDIS_URL = os.environ.get("MOBIUS_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")

_RECORD = """
redis.call('INCR', KEYS[3])
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 1 then
  redis.call('RPUSH', KEYS[2], ARGV[2])
  redis.call('RPUSH', KEYS[4], ARGV[3])
end
return 1
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class Recorder:
    """An ``EventHandler`` recording applications in Redis, idempotently."""

    def __init__(self, url: str, prefix: str) -> None:
        self.client = aioredis.Redis.from_url(url)
        self.prefix = f"{prefix}bench:"
        self._record = self.client.register_script(_RECORD)

    async def handle(self, event: Event) -> None:
        delay_s = time.time() - event.occurred_at
        keys = [
            f"{self.prefix}applied",
            f"{self.prefix}v:{event.entity_id}",
            f"{self.prefix}calls",
            f"{self.prefix}delays",
        ]
        await self._record(keys=keys, args=[event.id, event.version, repr(delay_s)])


def recorder(settings: Settings) -> Recorder:
    url = redis_url(settings.redis)
    assert url is not None
    return Recorder(url, settings.redis.key_prefix)


@dataclass
class Bench:
    """One run's Redis prefix, config file and processes."""

    workdir: Path
    prefix: str
    port: int
    events: dict[str, Any]
    gateway: subprocess.Popen[bytes] | None = None
    worker: subprocess.Popen[bytes] | None = None

    @property
    def config(self) -> Path:
        return self.workdir / "mobius.yaml"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def write_config(self) -> None:
        fake = SandboxUrls(dict.fromkeys(("identity", "billing", "projects", "support"), "http://127.0.0.1:9"))
        upstreams = sandbox_upstreams(fake, SandboxCredentials())
        upstreams["billing"]["webhook"] = {"secret": SECRET}
        document = {
            "server": {"host": "127.0.0.1", "port": self.port, "log_format": "json"},
            "redis": {"url": REDIS_URL, "key_prefix": self.prefix, "socket_timeout_s": 1.0},
            "telemetry": {"logs": {"requests": False}},
            "events": {"worker": False, **self.events},
            "upstreams": upstreams,
        }
        self.config.write_text(yaml.safe_dump(document))

    def _spawn(self, *args: str, log: str) -> subprocess.Popen[bytes]:
        out = (self.workdir / log).open("ab")
        return subprocess.Popen(  # noqa: S603  (our own CLI, fixed arguments)
            [sys.executable, "-m", "mobius.cli", *args],
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )

    def start_gateway(self) -> None:
        self.gateway = self._spawn("serve", "--config", str(self.config), log="gateway.log")
        deadline = time.monotonic() + 30
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("the gateway did not start; see gateway.log") from None
                time.sleep(0.1)

    def start_worker(self) -> None:
        """Under one stable consumer name, as the crash benches promise: a restarted worker first
        finishes what the killed one had taken (a new name would leave it to ``claim_idle_s``, and
        a newer version of its entity applied meanwhile would supersede it)."""
        self.worker = self._spawn(
            "worker",
            "--config",
            str(self.config),
            "--handler",
            "bench.events_harness:recorder",
            "--consumer",
            f"bench-{self.prefix.split(':')[1]}",
            log="worker.log",
        )

    def kill_worker(self) -> None:
        assert self.worker is not None
        self.worker.send_signal(signal.SIGKILL)
        self.worker.wait()

    def stop(self) -> None:
        for process in (self.worker, self.gateway):
            if process is not None and process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(REDIS_URL)

    def backlog(self) -> tuple[int, int]:
        """(unacknowledged stream entries, dead letters)."""
        client = self.client()
        stream = f"{self.prefix}{{events}}"
        return int(client.xlen(stream)), int(client.xlen(f"{stream}:dead"))

    def handler_calls(self) -> int:
        return int(self.client().get(f"{self.prefix}bench:calls") or 0)

    def recorded(self) -> tuple[dict[str, int], dict[str, list[int]], int, list[float]]:
        """(applied version by event id, applied versions per entity in order, handler calls, delays)."""
        client = self.client()
        base = f"{self.prefix}bench:"
        applied = {_text(key): int(value) for key, value in client.hgetall(f"{base}applied").items()}
        versions = {}
        for key in client.scan_iter(match=f"{base}v:*", count=1000):
            versions[_text(key).removeprefix(f"{base}v:")] = [int(v) for v in client.lrange(key, 0, -1)]
        calls = int(client.get(f"{base}calls") or 0)
        delays = [float(v) for v in client.lrange(f"{base}delays", 0, -1)]
        return applied, versions, calls, delays

    def clean_records(self) -> None:
        """Forget what the recording handler wrote so far (after a warm-up)."""
        client = self.client()
        keys = list(client.scan_iter(match=f"{self.prefix}bench:*", count=1000))
        for start in range(0, len(keys), 500):
            client.delete(*keys[start : start + 500])

    def clean(self) -> None:
        client = self.client()
        keys = list(client.scan_iter(match=f"{self.prefix}*", count=1000))
        for start in range(0, len(keys), 500):
            client.delete(*keys[start : start + 500])


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def new_bench(workdir: Path, **events: Any) -> Bench:
    workdir.mkdir(parents=True, exist_ok=True)
    bench = Bench(workdir=workdir, prefix=f"mobius-bench:{uuid.uuid4().hex[:8]}:", port=free_port(), events=events)
    bench.write_config()
    return bench


def invoice_webhook(
    delivery_id: str, invoice_id: str, version: int, *, secret: str = SECRET, occurred_at: float | None = None
) -> tuple[bytes, dict[str, str]]:
    """A signed ``invoice.paid`` delivery (body, headers)."""
    now = time.time()
    body = orjson.dumps(
        {
            "type": "invoice.paid",
            "occurred_at": now if occurred_at is None else occurred_at,
            "data": {"id": invoice_id, "customer": "cus_1", "org_id": "org-1", "status": "paid", "version": version},
        }
    )
    signer = StandardWebhook(secret)
    signature = signer.sign(delivery_id, datetime.fromtimestamp(int(now), tz=UTC), body)
    headers = {
        "content-type": "application/json",
        "webhook-id": delivery_id,
        "webhook-timestamp": str(int(now)),
        "webhook-signature": signature,
    }
    return body, headers


def percentile(values: Sequence[float], fraction: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]
