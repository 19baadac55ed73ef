"""The real Redis server on loopback, with a key prefix of its own for every test.

Tests never share keys: each gets ``mobius-test:<run>:<n>:`` and its keys are deleted afterwards.
Before they are deleted, keys and values are scanned for the credential canary (whatever wrote
them: caches, rate limits, anything); at session end so is every key left under the run's prefix.

A test that takes ``redis_backend`` (and ``backend_prefix``) runs twice: against the one server and
against a real 3-node Redis Cluster (``redis_cluster.py``, started once per session).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import redis.asyncio as redis
from canary import CANARY
from redis.asyncio.cluster import RedisCluster
from redis_cluster import LocalRedisCluster

from clients.redis_client import RedisClient
from mobius.redis import RedisTarget
from mobius.settings import RedisSettings

REDIS_URL = os.environ.get("MOBIUS_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
_RUN = uuid.uuid4().hex[:8]
RUN_PREFIX = f"mobius-test:{_RUN}:"
_counter = itertools.count()


@pytest.fixture(scope="session")
def redis_url() -> str:
    return REDIS_URL


@pytest.fixture
async def redis_prefix(redis_url: str) -> AsyncIterator[str]:
    """A fresh key prefix on the real server; fails loudly if no Redis answers, and fails the test
    if a key or value written under it contains the canary."""
    async with prefixed(redis.Redis.from_url(redis_url), redis_url) as prefix:
        yield prefix


@dataclass(frozen=True)
class RedisBackend:
    """One Redis deployment the tests run against: ``server`` (one node) or ``cluster`` (three)."""

    name: str
    url: str

    def settings(self, prefix: str, **options: Any) -> RedisSettings:
        return RedisSettings(url=self.url, key_prefix=prefix, **options)

    def target(self, prefix: str, **options: Any) -> RedisTarget:
        """What ``mobius.redis.check_topology`` settles on for this backend."""
        return RedisTarget(self.settings(prefix, **options), "cluster" if self.name == "cluster" else "server")

    def client(self) -> RedisClient:
        if self.name == "cluster":
            return RedisCluster.from_url(self.url)
        return redis.Redis.from_url(self.url)


@pytest.fixture(scope="session")
def redis_cluster_url() -> Iterator[str]:
    """A 3-node Redis Cluster for the session (started on first use, stopped at the end)."""
    with LocalRedisCluster() as cluster:
        yield cluster.url


@pytest.fixture(params=["server", "cluster"])
def redis_backend(request: pytest.FixtureRequest, redis_url: str) -> RedisBackend:
    if request.param == "cluster":
        return RedisBackend("cluster", request.getfixturevalue("redis_cluster_url"))
    return RedisBackend("server", redis_url)


@pytest.fixture
async def backend_prefix(redis_backend: RedisBackend) -> AsyncIterator[str]:
    """``redis_prefix`` on the test's backend (every node of a cluster is scanned and cleaned)."""
    async with prefixed(redis_backend.client(), redis_backend.url) as prefix:
        yield prefix


@contextlib.asynccontextmanager
async def prefixed(client: RedisClient, url: str) -> AsyncIterator[str]:
    """A fresh key prefix on ``client``'s server or cluster: canary-scanned, then cleaned, afterwards."""
    prefix = f"{RUN_PREFIX}{next(_counter)}:"
    try:
        await client.ping()
    except redis.ConnectionError as exc:
        await client.aclose()
        pytest.fail(f"no Redis server at {url} ({exc}); scripts/test starts one")
    try:
        yield prefix
    finally:
        try:
            leaked = await keys_containing(client, f"{prefix}*", CANARY)
            keys = [key async for key in client.scan_iter(match=f"{prefix}*", count=500)]
            if keys:
                await client.delete(*keys)
        finally:
            await client.aclose()
    if leaked:
        pytest.fail(f"a credential leaked into Redis: {leaked} key(s) under {prefix} contain the canary")


async def keys_containing(client: RedisClient, match: str, needle: str) -> int:
    """How many keys matching ``match`` contain ``needle`` in their name or anywhere in their value."""
    wanted = needle.encode()
    found = 0
    async for key in client.scan_iter(match=match, count=500):
        if wanted in key or any(wanted in part for part in await _value_parts(client, key)):
            found += 1
    return found


async def _value_parts(client: RedisClient, key: bytes) -> list[bytes]:
    """Every byte string stored under ``key``, whatever its type."""
    kind = (await client.type(key)).decode()
    if kind == "string":
        value = await client.get(key)
        return [] if value is None else [value]
    if kind == "hash":
        return [part for pair in (await client.hgetall(key)).items() for part in pair]
    if kind == "stream":
        return [part for _, fields in await client.xrange(key) for pair in fields.items() for part in pair]
    readers = {"list": lambda: client.lrange(key, 0, -1), "set": lambda: client.smembers(key)}
    reader = readers.get(kind, lambda: client.zrange(key, 0, -1))
    return list(await reader())


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Whatever is left under the run's prefix (e.g. written by a session-wide gateway) is scanned too."""

    async def scan() -> int:
        client = redis.Redis.from_url(REDIS_URL)
        try:
            return await keys_containing(client, f"{RUN_PREFIX}*", CANARY)
        except redis.ConnectionError:
            return 0
        finally:
            await client.aclose()

    leaked = asyncio.run(scan())
    if leaked:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(f"a credential leaked into Redis: {leaked} key(s) under {RUN_PREFIX} hold the canary")


@pytest.fixture
def redis_config(redis_url: str, redis_prefix: str) -> dict[str, str]:
    """The gateway's ``redis`` settings: the real server, the test's own key prefix."""
    return {"url": redis_url, "key_prefix": redis_prefix}
