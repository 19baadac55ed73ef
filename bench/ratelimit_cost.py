"""What the client-side rate limiter costs per call: Redis commands and time per ``acquire()``.

    .venv/bin/python -m bench.ratelimit_cost [--calls 20000]

Starts its own ``redis-server`` on a free loopback port (no persistence), so the server's
``INFO commandstats`` counts this run's commands only, and stops it at the end. Each case drives
``--calls`` sequential admissions through one limiter and reports Redis commands per 1,000 calls and
microseconds per call (wall time, Redis round trips included); the in-process store is the floor.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import redis.asyncio as redis

from clients.resilience.ratelimit import RateLimiter, RateLimitPolicy
from clients.resilience.ratelimit_store import MemoryRateLimitStore, RateLimitStore, RedisRateLimitStore

HOST = "127.0.0.1"


@dataclass(frozen=True)
class Case:
    name: str
    policy: RateLimitPolicy
    redis: bool


CASES = (
    Case("in-process store, no quota", RateLimitPolicy(), redis=False),
    Case("Redis store, no quota, nothing learned", RateLimitPolicy(), redis=True),
    Case("Redis store, static quota (never reached)", RateLimitPolicy(limit=1_000_000_000), redis=True),
)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def redis_server() -> Iterator[str]:
    port = free_port()
    process = subprocess.Popen(  # noqa: S603  (fixed argv, loopback only)
        ["redis-server", "--bind", HOST, "--port", str(port), "--save", "", "--appendonly", "no"],  # noqa: S607
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection((HOST, port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("redis-server did not start") from None
                time.sleep(0.05)
        yield f"redis://{HOST}:{port}/0"
    finally:
        process.terminate()
        process.wait(timeout=10)


async def commands_so_far(client: redis.Redis) -> int:
    """Commands the server has run, the INFO calls that ask excluded."""
    stats = await client.info("commandstats")
    return sum(int(entry["calls"]) for name, entry in stats.items() if name != "cmdstat_info")


async def run_case(case: Case, url: str, calls: int) -> tuple[float, float]:
    """(Redis commands per 1,000 calls, microseconds per call)."""
    client = redis.Redis.from_url(url)
    store: RateLimitStore = (
        RedisRateLimitStore(client, key_prefix=f"bench:{case.name}:") if case.redis else MemoryRateLimitStore()
    )
    limiter = RateLimiter(upstream="bench", policy=case.policy, store=store, wall_clock=time.time, sleep=asyncio.sleep)
    try:
        for _ in range(100):
            await limiter.acquire()  # warm: scripts loaded, connection open
        before = await commands_so_far(client)
        started = time.perf_counter()
        for _ in range(calls):
            await limiter.acquire()
        elapsed = time.perf_counter() - started
        commands = await commands_so_far(client) - before
    finally:
        await client.aclose()
    return commands * 1000 / calls, elapsed * 1e6 / calls


async def main(calls: int) -> None:
    with redis_server() as url:
        print(f"{'case':<45} {'Redis cmds / 1,000 calls':>25} {'us / call':>10}")
        for case in CASES:
            per_thousand, micros = await run_case(case, url, calls)
            print(f"{case.name:<45} {per_thousand:>25.1f} {micros:>10.1f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=20_000)
    asyncio.run(main(parser.parse_args().calls))
