"""Broker delivery under crashes, on loopback: the projects issue events through RabbitMQ into the
durable stream and a `mobius worker` process whose handler records every application in Redis.

    .venv/bin/python -m bench.broker_crash [--messages 3000] [--rate 300] [--steady 2000]

Crash phase: ``--messages`` events (distinct issue versions) are published at ``--rate`` per second
while the worker process is SIGKILLed and restarted twice and, in between, every connection of the
run's vhost is closed from the server side (the consumer's and the publisher's). Afterwards it
reports events lost (published, never applied), duplicates applied (applied more than once; and how
many of them by two worker processes, i.e. a handler that ran just before its worker was killed), and
the dead letters of the broker queue and of the stream. Steady phase: ``--steady`` more events at
the same rate and no faults: broker-to-handler latency p50/p99 (publish time in the body, handler
time in Redis; one host, one clock). Needs Redis and RabbitMQ with `rabbitmqctl`; never in the suite.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any

import aio_pika
import orjson
import redis.asyncio as redis

from bench.processes import Process
from mobius.demo import sandbox_upstreams
from mobius.events.model import Event
from mobius.events.sources.rabbitmq import declare_topology
from mobius.settings import Settings
from sandbox import SandboxCredentials, SandboxUrls

RECORD_ENV = "MOBIUS_BENCH_RECORD"
"""``<redis url> <key prefix>`` for the recording handler inside the worker process."""
ISSUES = 500
SETTLE_S = 60.0
ROUTING = ("projects.issue.*",)
LOGS = Path(__file__).parent / "results" / "broker-crash"
"""The worker processes' logs and their config (ignored by git)."""


class Recorder:
    """The handler the worker runs: counts applications per (issue, version), keeps each latency."""

    def __init__(self, url: str, prefix: str) -> None:
        self.client = redis.Redis.from_url(url)
        self.prefix = prefix

    async def handle(self, event: Event) -> None:
        latency_s = time.time() - event.occurred_at
        phase = str(event.data.get("project_id", ""))
        async with self.client.pipeline(transaction=False) as pipe:
            pipe.hincrby(f"{self.prefix}applied", f"{event.entity_id}:{event.version}", 1)
            pipe.rpush(f"{self.prefix}by:{event.entity_id}:{event.version}", os.getpid())
            pipe.rpush(f"{self.prefix}latency:{phase}", f"{latency_s:.6f}")
            await pipe.execute()


def recorder(_settings: Settings) -> Recorder:
    """``mobius worker --handler bench.broker_crash:recorder``."""
    url, prefix = os.environ[RECORD_ENV].split(" ")
    return Recorder(url, prefix)


def _ctl(*args: str) -> None:
    ctl = shutil.which("rabbitmqctl")
    if ctl is None:
        raise SystemExit("bench.broker_crash needs rabbitmqctl (a vhost of its own, connections closed by the server)")
    subprocess.run([ctl, "-q", *args], check=True, capture_output=True, timeout=60)  # noqa: S603  (fixed tool)


def body(issue: int, version: int, phase: str) -> bytes:
    change = {"id": f"issue-{issue}", "project_id": phase, "state": "OPEN", "assignee_id": None, "version": version}
    return orjson.dumps({"action": "assigned", "occurred_at": time.time(), "issue": change})


class Publisher:
    """Publishes with confirms; after a lost connection it reconnects and sends the unconfirmed
    message again under the same message id (the stream's replay check drops the copy)."""

    def __init__(self, url: str, exchange: str) -> None:
        self.url = url
        self.exchange_name = exchange
        self.reconnects = 0
        self._exchange: aio_pika.abc.AbstractExchange | None = None
        self._connection: aio_pika.abc.AbstractConnection | None = None

    async def _ensure(self) -> aio_pika.abc.AbstractExchange:
        if self._exchange is None:
            self._connection = await aio_pika.connect(self.url)
            channel = await self._connection.channel(publisher_confirms=True)
            self._exchange = await channel.declare_exchange(
                self.exchange_name, aio_pika.ExchangeType.TOPIC, durable=True
            )
        return self._exchange

    async def publish(self, message_id: str, payload: bytes) -> None:
        while True:
            try:
                exchange = await self._ensure()
                message = aio_pika.Message(
                    payload, message_id=message_id, delivery_mode=aio_pika.DeliveryMode.PERSISTENT
                )
                await exchange.publish(message, "projects.issue.assigned")
                return
            except (aio_pika.exceptions.AMQPError, ConnectionError, RuntimeError):
                self.reconnects += 1
                self._exchange = None
                if self._connection is not None:
                    await self._connection.close()
                await asyncio.sleep(0.2)

    async def close(self) -> None:
        if self._connection is not None:
            await self._connection.close()


async def declare(url: str, exchange: str, queue: str) -> None:
    """The consumer's topology, declared first so nothing published before the worker is up is lost."""
    connection = await aio_pika.connect(url)
    async with connection:
        await declare_topology(await connection.channel(), exchange=exchange, queue=queue, routing_keys=ROUTING)


async def dead_letters(url: str, queue: str) -> int:
    connection = await aio_pika.connect(url)
    async with connection:
        channel = await connection.channel()
        declared = await channel.declare_queue(f"{queue}.dead", passive=True)
        return declared.declaration_result.message_count or 0


class Worker:
    def __init__(self, config: Path, env: dict[str, str], directory: Path) -> None:
        self.config, self.env, self.directory = config, env, directory
        self.starts = 0
        self.process = self._start()

    def _start(self) -> Process:
        self.starts += 1
        argv = [".venv/bin/mobius", "worker", "--config", str(self.config), "--handler", "bench.broker_crash:recorder"]
        log = self.directory / f"worker-{self.starts}.log"
        return Process(f"worker-{self.starts}", argv, env=self.env, log=log)

    def kill_and_restart(self) -> None:
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.popen.wait(5)
        self.process = self._start()


async def publish_phase(publisher: Publisher, phase: str, count: int, rate: float, first: int) -> list[str]:
    """``count`` events at ``rate`` per second; event n is issue n % ISSUES at version n // ISSUES + 1."""
    keys = []
    start = time.monotonic()
    for n in range(first, first + count):
        await asyncio.sleep(max(0.0, start + (n - first) / rate - time.monotonic()))
        issue, version = n % ISSUES, n // ISSUES + 1
        await publisher.publish(f"{phase}-{n}", body(issue, version, phase))
        keys.append(f"issue-{issue}:{version}")
    return keys


async def applied(client: redis.Redis, prefix: str) -> dict[str, int]:
    raw = await client.hgetall(f"{prefix}applied")
    return {(key.decode() if isinstance(key, bytes) else key): int(value) for key, value in raw.items()}


async def settle(client: redis.Redis, prefix: str, expected: list[str]) -> dict[str, int]:
    deadline = time.monotonic() + SETTLE_S
    while True:
        counts = await applied(client, prefix)
        if all(key in counts for key in expected) or time.monotonic() > deadline:
            return counts
        await asyncio.sleep(0.2)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values) or [float("nan")]
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def measure(redis_url: str, messages: int, rate: float, steady: int, directory: Path) -> dict[str, Any]:
    run = uuid.uuid4().hex[:8]
    vhost, prefix = f"mobius-bench-{run}", f"mobius-bench:{run}:"
    exchange, queue = "projects.events", "mobius.projects.issues"
    _ctl("add_vhost", vhost)
    _ctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
    url = f"amqp://guest:guest@127.0.0.1:5672/{vhost}"
    urls = SandboxUrls(**dict.fromkeys(("identity", "billing", "projects", "support", "ledger"), "http://127.0.0.1:9"))
    config = directory / "worker.yaml"
    config.write_text(
        json.dumps(
            {
                "redis": {"url": redis_url, "key_prefix": prefix},
                "upstreams": sandbox_upstreams(urls, SandboxCredentials()),
                "events": {
                    "claim_idle_s": 1.0,
                    "block_s": 0.2,
                    "broker": {
                        "enabled": True,
                        "url": url,
                        "exchange": exchange,
                        "queue": queue,
                        "prefetch": 64,
                        "reconnect": {"initial_s": 0.1, "max_s": 2.0},
                    },
                },
            }
        )
    )
    client = redis.Redis.from_url(redis_url)
    publisher = Publisher(url, exchange)
    worker: Worker | None = None
    try:
        await declare(url, exchange, queue)
        root = str(Path(__file__).parents[1])
        worker = Worker(config, {RECORD_ENV: f"{redis_url} {prefix}bench:", "PYTHONPATH": root}, directory)
        crash = asyncio.create_task(publish_phase(publisher, "crash", messages, rate, 0))
        duration_s = messages / rate
        for fraction, fault in ((0.25, "kill"), (0.5, "drop"), (0.75, "kill")):
            await asyncio.sleep(max(0.0, duration_s * 0.25))
            if fault == "kill":
                worker.kill_and_restart()
            else:
                await asyncio.to_thread(_ctl, "close_all_connections", "-p", vhost, f"bench drop at {fraction:.0%}")
        crash_keys = await crash
        counts = await settle(client, f"{prefix}bench:", crash_keys)
        lost = sum(1 for key in crash_keys if key not in counts)
        twice = [key for key in crash_keys if counts.get(key, 0) > 1]
        across_kills = 0
        for key in twice:
            appliers = await client.lrange(f"{prefix}bench:by:{key}", 0, -1)
            across_kills += len(set(appliers)) > 1
        steady_keys = await publish_phase(publisher, "steady", steady, rate, messages)
        await settle(client, f"{prefix}bench:", steady_keys)
        latencies = [float(v) for v in await client.lrange(f"{prefix}bench:latency:steady", 0, -1)]
        stream_dead = await client.xlen(f"{prefix}{{events}}:dead")
        return {
            "published": messages,
            "worker_kills": 2,
            "connection_drops": 1,
            "publisher_reconnects": publisher.reconnects,
            "lost": lost,
            "duplicates_applied": len(twice),
            "duplicates_across_a_worker_kill": across_kills,
            "broker_dead_letters": await dead_letters(url, queue),
            "stream_dead_letters": stream_dead,
            "steady_messages": steady,
            "rate_per_s": rate,
            "latency_ms": {
                "p50": round(percentile(latencies, 0.50) * 1000, 2),
                "p99": round(percentile(latencies, 0.99) * 1000, 2),
                "max": round(max(latencies, default=float("nan")) * 1000, 2),
            },
        }
    finally:
        if worker is not None:
            worker.process.stop()
        await publisher.close()
        keys = [key async for key in client.scan_iter(f"{prefix}*")]
        if keys:
            await client.delete(*keys)
        await client.aclose()
        _ctl("delete_vhost", vhost)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--messages", type=int, default=3000)
    parser.add_argument("--rate", type=float, default=300.0, help="messages per second, both phases")
    parser.add_argument("--steady", type=int, default=2000)
    args = parser.parse_args()
    LOGS.mkdir(parents=True, exist_ok=True)
    result = asyncio.run(measure(args.redis, args.messages, args.rate, args.steady, LOGS))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
