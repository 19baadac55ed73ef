"""Fixtures for the client-layer tests (helpers live in ``tests.clients.support``)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
import redis.asyncio as redis
from redis.asyncio.cluster import RedisCluster
from redis_support import prefixed

from clients.resilience.ratelimit_store import MemoryRateLimitStore, RedisRateLimitStore
from clients.upstreams import Upstreams
from tests.clients.resilience_support import StoreFor
from tests.clients.support import started


@pytest.fixture
async def upstreams(sandbox: Any) -> AsyncIterator[Upstreams]:
    """The app's upstream clients against a freshly reset sandbox, started and closed per test."""
    built = await started(sandbox.urls, sandbox.credentials)
    try:
        yield built
    finally:
        await built.close()


@pytest.fixture(params=["memory", "redis", "cluster"])
async def store_for(request: pytest.FixtureRequest, redis_url: str, redis_prefix: str) -> AsyncIterator[StoreFor]:
    """Rate-limit stores in memory (one process: every call returns the same store) or in Redis
    (each call a replica of its own, all on the real server -- or the 3-node cluster -- under the
    test's key prefix)."""
    if request.param == "memory":
        shared = MemoryRateLimitStore()
        yield lambda _time: shared
        return
    if request.param == "cluster":
        url = request.getfixturevalue("redis_cluster_url")
        cluster = RedisCluster.from_url(url)
        try:
            async with prefixed(RedisCluster.from_url(url), url) as prefix:
                yield lambda time: RedisRateLimitStore(cluster, key_prefix=prefix, clock=time.monotonic)
        finally:
            await cluster.aclose()
        return
    client = redis.Redis.from_url(redis_url)
    try:
        yield lambda time: RedisRateLimitStore(client, key_prefix=redis_prefix, clock=time.monotonic)
    finally:
        await client.aclose()


@pytest.fixture
async def lost_exceptions() -> AsyncIterator[list[dict[str, Any]]]:
    """What the running loop reports as errors nobody handled (a task's exception or a
    failure never retrieved)."""
    loop = asyncio.get_running_loop()
    reported: list[dict[str, Any]] = []
    previous = loop.get_exception_handler()
    loop.set_exception_handler(lambda _, context: reported.append(context))
    yield reported
    loop.set_exception_handler(previous)
