"""Scale-out figures on loopback: two gateway replicas (`mobius serve` processes) on one Redis, the
sandbox upstreams counting what reaches them. Bounded and self-stopping.

    .venv/bin/python -m bench.fleet [--redis redis://127.0.0.1:6379/0] [--rounds 5]

- cold fleet: 20 simultaneous cold dashboards, 10 per replica, with the fill lock off and on:
  upstream requests per round;
- invalidation: a rename through one replica, the time until the other answers it (its L1 would
  hold the old name for 60 s);
- breakers: failing billing calls until both replicas are open, and billing requests per half-open
  round (probes).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import aiohttp

from bench.processes import Process, wait_until_answers
from mobius.demo import DEMO_CALLER_TOKEN, sandbox_upstreams
from sandbox import SandboxCredentials, SandboxServer, SandboxUrls

DASHBOARD = (Path(__file__).parent / "queries" / "dashboard.graphql").read_text()
HEADERS = {"Authorization": f"Bearer {DEMO_CALLER_TOKEN}"}
OPEN_S = 1.0


def config(urls: SandboxUrls, credentials: SandboxCredentials, redis_url: str, prefix: str, lock: bool) -> Any:
    upstreams = sandbox_upstreams(urls, credentials)
    upstreams["billing"]["resilience"] = {"retry": {"attempts": 1}, "breaker": {"open_s": OPEN_S}}
    return {
        "server": {"graphiql": False},
        "redis": {"url": redis_url, "key_prefix": prefix, "socket_timeout_s": 0.5},
        "cache": {"lock": {"enabled": lock}, "l1": {"ttl_s": 60}},
        "upstreams": upstreams,
        "callers": [
            {"name": "ops", "token": DEMO_CALLER_TOKEN, "scopes": ["pii:read", "users:write"], "user_id": "user-1"}
        ],
    }


class Pair:
    """Two replicas on one config."""

    def __init__(self, settings: Any, directory: Path) -> None:
        path = directory / f"{uuid.uuid4().hex}.yaml"
        path.write_text(json.dumps(settings))
        self.processes: list[Process] = []
        self.urls: list[str] = []
        for n in range(2):
            port = _free_port()
            argv = [".venv/bin/mobius", "serve", "--config", str(path), "--port", str(port)]
            self.processes.append(Process(f"replica-{n}", argv, log=directory / f"replica-{n}-{port}.log"))
            self.urls.append(f"http://127.0.0.1:{port}")
        for process, url in zip(self.processes, self.urls, strict=True):
            wait_until_answers(process, f"{url}/graphql")

    def stop(self) -> None:
        for process in self.processes:
            process.stop()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def ask(http: aiohttp.ClientSession, url: str, query: str, variables: dict[str, Any] | None = None) -> Any:
    async with http.post(f"{url}/graphql", json={"query": query, "variables": variables or {}}, headers=HEADERS) as r:
        return await r.json()


async def api_requests(http: aiohttp.ClientSession, urls: SandboxUrls) -> int:
    total = 0
    for base in (urls.identity, urls.billing, urls.projects):
        async with http.get(f"{base}/_sandbox/stats") as response:
            stats = await response.json()
        total += stats["requests"] - stats["routes"].get("POST /oauth/token", 0)
    return total


async def reset(http: aiohttp.ClientSession, urls: SandboxUrls) -> None:
    for base in (urls.identity, urls.billing, urls.projects):
        async with http.post(f"{base}/_sandbox/reset") as response:
            assert response.status == 200


async def cold_fleet(http: aiohttp.ClientSession, pair: Pair, urls: SandboxUrls, org: str) -> int:
    for url in pair.urls:  # tokens fetched, connections open: only the dashboards are counted
        await ask(http, url, '{ user(id: "user-1") { id } }')
    before = await api_requests(http, urls)
    await asyncio.gather(*(ask(http, pair.urls[n % 2], DASHBOARD, {"orgId": org}) for n in range(20)))
    return await api_requests(http, urls) - before


async def invalidation_ms(http: aiohttp.ClientSession, pair: Pair) -> float:
    user = '{ user(id: "user-9") { name etag } }'
    for url in pair.urls:
        await ask(http, url, user)
    etag = (await ask(http, pair.urls[0], user))["data"]["user"]["etag"]
    name = f"Renamed {time.monotonic_ns()}"
    rename = 'mutation ($e: String!, $n: String!) { updateUser(id: "user-9", input: {name: $n}, ifMatch: $e) { name } }'
    await ask(http, pair.urls[0], rename, {"e": etag, "n": name})
    started = time.perf_counter()
    deadline = started + 10
    while time.perf_counter() < deadline:
        if (await ask(http, pair.urls[1], user))["data"]["user"]["name"] == name:
            return (time.perf_counter() - started) * 1000
    return float("inf")


async def breaker_figures(http: aiohttp.ClientSession, pair: Pair, urls: SandboxUrls) -> tuple[int, list[int]]:
    async with http.post(f"{urls.billing}/_sandbox/faults", json={"error_rate": 1.0}) as response:
        assert response.status == 200
    orgs = (f"org-{n}" for n in range(100, 1000))

    async def billing_requests() -> int:
        async with http.get(f"{urls.billing}/_sandbox/stats") as response:
            count: int = (await response.json())["requests"]
            return count

    async def states() -> set[str]:
        found = set()
        for url in pair.urls:
            rows = (await ask(http, url, "{ upstreams { name state } }"))["data"]["upstreams"]
            found |= {row["state"] for row in rows if row["name"] == "billing"}
        return found

    calls = 0
    while "CLOSED" in await states() and calls < 200:
        await ask(http, pair.urls[calls % 2], f'{{ organization(id: "{next(orgs)}") {{ billing {{ plan }} }} }}')
        calls += 1
    opened_after = await billing_requests()
    probes = []
    for _ in range(3):
        await asyncio.sleep(OPEN_S + 0.2)
        before = await billing_requests()
        await asyncio.gather(
            *(
                ask(http, pair.urls[n % 2], f'{{ organization(id: "{next(orgs)}") {{ billing {{ plan }} }} }}')
                for n in range(20)
            )
        )
        await asyncio.sleep(0.2)
        probes.append(await billing_requests() - before)
    return opened_after, probes


async def measure(redis_url: str, rounds: int) -> dict[str, Any]:
    credentials = SandboxCredentials()
    results: dict[str, Any] = {}
    with SandboxServer(credentials=credentials) as urls, tempfile.TemporaryDirectory() as tmp:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as http:
            for lock in (False, True):
                pair = Pair(config(urls, credentials, redis_url, f"bench-fleet:{uuid.uuid4().hex}:", lock), Path(tmp))
                try:
                    await reset(http, urls)
                    counts = [await cold_fleet(http, pair, urls, f"org-{n + 1}") for n in range(rounds)]
                    results[f"cold_fleet_requests_lock_{'on' if lock else 'off'}"] = counts
                    if lock:
                        visible = [await invalidation_ms(http, pair) for _ in range(rounds)]
                        results["invalidation_visible_ms"] = {
                            "median": round(statistics.median(visible), 1),
                            "max": round(max(visible), 1),
                        }
                        await reset(http, urls)
                        opened_after, probes = await breaker_figures(http, pair, urls)
                        results["breaker_opening_calls_2_replicas"] = opened_after
                        results["breaker_probes_per_half_open_round"] = probes
                finally:
                    pair.stop()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(measure(args.redis, args.rounds)), indent=2))


if __name__ == "__main__":
    main()
