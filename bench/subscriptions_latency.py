"""Event-to-subscriber latency across replicas: two `mobius serve` processes on one Redis, N
graphql-transport-ws subscribers split between them, invoice events published at a steady rate
through the Redis bus (as the worker of any replica publishes them). Bounded and self-stopping.

    .venv/bin/python -m bench.subscriptions_latency [--redis redis://127.0.0.1:6379/0]
        [--rate 500] [--seconds 10] [--subscribers 10]

Latency is from just before the event is published to when a subscriber has parsed its `next`
message (publisher and subscribers share this process's monotonic clock). Every subscriber must
receive every event exactly once: `lost` and `duplicates` count the exceptions. `cpu_s` is the CPU
each replica, and this process (publisher, subscribers and the sandbox), spent while publishing and
draining: past the CPU there is, latency becomes backlog and slow subscribers are dropped (4413).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import redis.asyncio as redis

from bench.fleet import Pair
from bench.procstat import usage_of
from mobius.demo import DEMO_CALLER_TOKEN, sandbox_upstreams
from mobius.events.model import Event
from mobius.subscriptions.bus import RedisBus
from mobius.subscriptions.publish import PublishEvents
from sandbox import SandboxCredentials, SandboxServer, SandboxUrls

ORG = "org-1"
QUERY = 'subscription { invoiceEvents(orgId: "org-1") { version } }'


def config(urls: SandboxUrls, credentials: SandboxCredentials, redis_url: str, prefix: str) -> dict[str, Any]:
    return {
        "server": {"graphiql": False},
        "redis": {"url": redis_url, "key_prefix": prefix, "socket_timeout_s": 0.5},
        "upstreams": sandbox_upstreams(urls, credentials),
        "callers": [{"name": "bench", "token": DEMO_CALLER_TOKEN, "scopes": ["billing:read"]}],
        "subscriptions": {"buffer": 4096},
        "telemetry": {"logs": {"requests": False}},
    }


@dataclass
class Subscriber:
    replica: int
    latencies_ms: list[float] = field(default_factory=list)
    seen: set[int] = field(default_factory=set)
    duplicates: int = 0
    warm: bool = False


async def subscribe(
    http: aiohttp.ClientSession, url: str, subscriber: Subscriber, sent: dict[int, float], ready: asyncio.Event
) -> None:
    ws_url = url.replace("http://", "ws://") + "/graphql"
    async with http.ws_connect(ws_url, protocols=("graphql-transport-ws",)) as socket_:
        init = {"type": "connection_init", "payload": {"Authorization": f"Bearer {DEMO_CALLER_TOKEN}"}}
        await socket_.send_json(init)
        await socket_.receive_json()
        await socket_.send_json({"id": "1", "type": "subscribe", "payload": {"query": QUERY}})
        ready.set()
        async for message in socket_:
            if message.type is not aiohttp.WSMsgType.TEXT:
                return
            body = json.loads(message.data)
            if body["type"] != "next":
                continue
            arrived = time.perf_counter()
            version = body["payload"]["data"]["invoiceEvents"]["version"]
            if version == 0:
                subscriber.warm = True
                continue
            if version in subscriber.seen:
                subscriber.duplicates += 1
                continue
            subscriber.seen.add(version)
            subscriber.latencies_ms.append((arrived - sent[version]) * 1000)


async def warm_up(bus: RedisBus, clients: list[Subscriber]) -> None:
    """Publish version 0 until every subscriber has it: all are listening, on both replicas."""
    publish = PublishEvents(bus)
    deadline = time.monotonic() + 30
    while not all(client.warm for client in clients):
        if time.monotonic() > deadline:
            raise RuntimeError("not every subscriber is listening after 30 s")
        await publish.handle(invoice_event(0))
        await asyncio.sleep(0.1)


def invoice_event(number: int) -> Event:
    return Event(
        id=f"bench-{number}",
        source="billing",
        type="invoice.paid",
        entity_type="Invoice",
        entity_id=f"in-{number}",
        version=number,
        occurred_at=time.time(),
        data={"org_id": ORG, "status": "paid"},
    )


async def publish_steadily(bus: RedisBus, rate: float, seconds: float, sent: dict[int, float]) -> int:
    publish = PublishEvents(bus)
    count = int(rate * seconds)
    start = time.perf_counter()
    for number in range(1, count + 1):
        due = start + (number - 1) / rate
        pause = due - time.perf_counter()
        if pause > 0:
            await asyncio.sleep(pause)
        event = invoice_event(number)
        sent[number] = time.perf_counter()
        await publish.handle(event)
    return count


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def measure(redis_url: str, rate: float, seconds: float, subscribers: int) -> dict[str, Any]:
    credentials = SandboxCredentials()
    prefix = f"bench-subscriptions:{uuid.uuid4().hex}:"
    with SandboxServer(credentials=credentials) as urls, tempfile.TemporaryDirectory() as tmp:
        pair = Pair(config(urls, credentials, redis_url, prefix), Path(tmp))
        bus = RedisBus(redis.Redis.from_url(redis_url), redis.Redis.from_url(redis_url), key_prefix=prefix, buffer=1)
        try:
            async with aiohttp.ClientSession() as http:
                sent: dict[int, float] = {}
                clients = [Subscriber(replica=n % 2) for n in range(subscribers)]
                readies = [asyncio.Event() for _ in clients]
                tasks = [
                    asyncio.create_task(subscribe(http, pair.urls[client.replica], client, sent, ready))
                    for client, ready in zip(clients, readies, strict=True)
                ]
                await asyncio.gather(*(ready.wait() for ready in readies))
                await warm_up(bus, clients)
                await asyncio.sleep(0.5)  # the last warm-up events drain
                replicas_before = [usage_of(process.pid).cpu_s for process in pair.processes]
                own_before = time.process_time()
                published = await publish_steadily(bus, rate, seconds, sent)
                await asyncio.sleep(2.0)  # stragglers
                replicas_cpu_s = [
                    round(usage_of(process.pid).cpu_s - before, 2)
                    for process, before in zip(pair.processes, replicas_before, strict=True)
                ]
                own_cpu_s = round(time.process_time() - own_before, 2)
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
        finally:
            await bus.close()
            pair.stop()
    latencies = [latency for client in clients for latency in client.latencies_ms]
    return {
        "rate_per_s": rate,
        "seconds": seconds,
        "replicas": 2,
        "subscribers": subscribers,
        "published": published,
        "deliveries": len(latencies),
        "lost": sum(published - len(client.seen) for client in clients),
        "duplicates": sum(client.duplicates for client in clients),
        "cpu_s": {"replicas": replicas_cpu_s, "publisher_and_subscribers": own_cpu_s},
        "latency_ms": {
            "p50": round(statistics.median(latencies), 2) if latencies else None,
            "p99": round(percentile(latencies, 0.99), 2) if latencies else None,
            "max": round(max(latencies), 2) if latencies else None,
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--rate", type=float, default=500.0, help="events per second")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--subscribers", type=int, default=10, help="split evenly between the two replicas")
    args = parser.parse_args()
    print(json.dumps(asyncio.run(measure(args.redis, args.rate, args.seconds, args.subscribers)), indent=2))


if __name__ == "__main__":
    main()
