"""Acceptance: gateway replicas (real `mobius serve` processes) behind a real nginx, on one Redis --
the one server, and a real 3-node Redis Cluster. Upstream requests are counted by the sandbox."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import aiohttp
import pytest
import redis.asyncio as redis
from canary import CANARY_CALLER_TOKEN
from fleet_support import Fleet
from harness import Sandbox
from redis.asyncio.cluster import RedisCluster
from redis_support import RUN_PREFIX

from mobius.demo import sandbox_upstreams
from sandbox import SandboxCredentials, SandboxUrls

SandboxServerInfo = tuple[SandboxUrls, SandboxCredentials]
ADMIN = {"Authorization": f"Bearer {CANARY_CALLER_TOKEN}"}
PROBES = 2
MINIMUM_CALLS = 3
OPEN_S = 1.0
_prefixes = itertools.count()


def fleet_config(sandbox_server: SandboxServerInfo, redis_url: str, prefix: str) -> dict[str, Any]:
    upstreams = sandbox_upstreams(*sandbox_server)
    upstreams["billing"]["resilience"] = {
        "retry": {"attempts": 1},
        "breaker": {
            "window": "count",
            "window_size": MINIMUM_CALLS,
            "minimum_calls": MINIMUM_CALLS,
            "open_s": OPEN_S,
            "half_open_probes": PROBES,
        },
    }
    return {
        "server": {"graphiql": False},
        "redis": {"url": redis_url, "key_prefix": prefix, "socket_timeout_s": 0.5},
        "cache": {"l1": {"ttl_s": 60}},  # only the pub/sub can make an L1 copy go away within a test
        "instance": {"report_s": 0.2},
        "upstreams": upstreams,
        "callers": [
            {
                "name": "ops",
                "token": CANARY_CALLER_TOKEN,
                "scopes": ["pii:read", "users:write", "issues:write", "cache:admin", "upstreams:admin"],
                "user_id": "user-1",
            }
        ],
    }


@pytest.fixture(scope="module", params=["server", "cluster"])
def fleet(request: pytest.FixtureRequest, sandbox_server: SandboxServerInfo) -> Iterator[Fleet]:
    """Three replicas behind nginx on the one Redis server or on the 3-node cluster."""
    url = request.getfixturevalue("redis_url" if request.param == "server" else "redis_cluster_url")
    prefix = f"{RUN_PREFIX}fleet-{next(_prefixes)}:"
    with Fleet(fleet_config(sandbox_server, url, prefix), replicas=3) as running:
        yield running
    asyncio.run(_drop_keys(url, prefix, cluster=request.param == "cluster"))


async def _drop_keys(url: str, prefix: str, *, cluster: bool) -> None:
    client = RedisCluster.from_url(url) if cluster else redis.Redis.from_url(url)
    try:
        keys = [key async for key in client.scan_iter(match=f"{prefix}*", count=500)]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


@pytest.fixture
async def client() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=20)) as session:
        yield session


async def ask(http: aiohttp.ClientSession, url: str, query: str, variables: dict[str, Any] | None = None) -> Any:
    async with http.post(f"{url}/graphql", json={"query": query, "variables": variables or {}}, headers=ADMIN) as r:
        assert r.status == 200, await r.text()
        return await r.json()


async def eventually(check: Any, what: str, *, attempts: int = 500) -> Any:
    for _ in range(attempts):
        found = await check()
        if found:
            return found
        await asyncio.sleep(0.02)
    raise AssertionError(f"within 10 s: {what}")


USER = '{ user(id: "user-7") { name etag } }'
RENAME = """mutation ($etag: String!, $name: String!) {
  updateUser(id: "user-7", input: {name: $name}, ifMatch: $etag) { name } }"""


async def test_an_invalidation_reaches_every_replica_and_nothing_stale_is_served_after(
    fleet: Fleet, sandbox: Sandbox, client: aiohttp.ClientSession
) -> None:
    for replica in fleet.replicas:  # every replica holds user-7 in its L1 (for 60 s)
        await ask(client, replica.url, USER)
        await ask(client, replica.url, USER)
    before = (await ask(client, fleet.url, USER))["data"]["user"]
    name = f"Grace {time.monotonic_ns()}"

    renamed = await ask(client, fleet.url, RENAME, {"etag": before["etag"], "name": name})
    assert renamed["data"]["updateUser"]["name"] == name

    async def everywhere() -> bool:
        names = [(await ask(client, replica.url, USER))["data"]["user"]["name"] for replica in fleet.replicas]
        return names == [name] * len(fleet.replicas)

    await eventually(everywhere, "every replica answers the new name")
    answers = [(await ask(client, fleet.url, USER))["data"]["user"]["name"] for _ in range(30)]
    assert answers == [name] * 30


async def breaker_states(client: aiohttp.ClientSession, fleet: Fleet) -> list[str]:
    states = []
    for replica in fleet.replicas:
        rows = (await ask(client, replica.url, "{ upstreams { name state } }"))["data"]["upstreams"]
        states.append(next(row["state"] for row in rows if row["name"] == "billing"))
    return states


async def billing_requests(sandbox: Sandbox) -> int:
    requests: int = (await sandbox.stats("billing"))["requests"]
    return requests


async def test_the_breaker_opens_on_every_replica_and_sends_exactly_k_probes_in_total(
    fleet: Fleet, sandbox: Sandbox, client: aiohttp.ClientSession
) -> None:
    orgs = (f"org-{n}" for n in itertools.count(10))  # a new organization each time: no cache in the way

    def billing_of_a_new_org() -> str:
        return f'{{ organization(id: "{next(orgs)}") {{ billing {{ plan }} }} }}'

    await sandbox.faults("billing", error_rate=1.0, status=503)
    while "OPEN" not in await breaker_states(client, fleet):
        await ask(client, fleet.url, billing_of_a_new_org())
        assert await billing_requests(sandbox) <= len(fleet.replicas) * MINIMUM_CALLS
    opened_after = await billing_requests(sandbox)
    assert opened_after <= (MINIMUM_CALLS - 1) * len(fleet.replicas) + 1
    await eventually(lambda: _all(client, fleet, "OPEN"), "the first replica to trip opens every replica")

    for _ in range(10):
        answer = await ask(client, fleet.url, billing_of_a_new_org())
        assert answer["errors"][0]["extensions"]["code"] == "UPSTREAM_UNAVAILABLE"
    assert await billing_requests(sandbox) == opened_after

    async def half_open_burst() -> int:
        await asyncio.sleep(OPEN_S + 0.2)
        before = await billing_requests(sandbox)
        await asyncio.gather(*(ask(client, fleet.url, billing_of_a_new_org()) for _ in range(24)))
        await asyncio.sleep(0.2)  # the probes' results reach the board
        return await billing_requests(sandbox) - before

    assert await half_open_burst() == PROBES  # failing probes: the fleet re-opens
    await eventually(lambda: _all(client, fleet, "OPEN"), "every replica re-opens")

    await sandbox.faults("billing")
    assert await half_open_burst() >= PROBES
    await eventually(lambda: _all(client, fleet, "CLOSED"), "every replica closes after the probes succeed")


async def _all(client: aiohttp.ClientSession, fleet: Fleet, state: str) -> bool:
    return set(await breaker_states(client, fleet)) == {state}


@pytest.fixture
def pair(sandbox_server: SandboxServerInfo, redis_url: str) -> Iterator[Fleet]:
    prefix = f"{RUN_PREFIX}fleet-{next(_prefixes)}:"
    with Fleet(fleet_config(sandbox_server, redis_url, prefix), replicas=2) as running:
        yield running
    asyncio.run(_drop_keys(redis_url, prefix, cluster=False))


async def test_a_sigkilled_replica_loses_nothing_acknowledged(
    pair: Fleet, sandbox: Sandbox, client: aiohttp.ClientSession
) -> None:
    create = 'mutation ($title: String!) { createIssue(projectId: "proj-3", title: $title) { id } }'
    acknowledged: list[str] = []
    refused = 0
    for n in range(40):
        if n == 15:
            pair.replicas[1].kill()
        try:
            async with client.post(
                f"{pair.url}/graphql", json={"query": create, "variables": {"title": f"t-{n}"}}, headers=ADMIN
            ) as response:
                body = await response.json(content_type=None) if response.status == 200 else None
        except aiohttp.ClientError:
            body = None
        if body and body.get("data") and body["data"].get("createIssue"):
            acknowledged.append(body["data"]["createIssue"]["id"])
        else:
            refused += 1
    assert len(acknowledged) >= 38  # at most the requests in flight to the killed replica fail

    listing = '{ project(id: "proj-3") { issues(first: 100) { nodes { id } } } }'

    async def all_listed() -> bool:
        nodes = (await ask(client, pair.url, listing))["data"]["project"]["issues"]["nodes"]
        return set(acknowledged) <= {node["id"] for node in nodes}

    await eventually(all_listed, "every acknowledged issue is listed by the surviving replica")
    assert refused + len(acknowledged) == 40
