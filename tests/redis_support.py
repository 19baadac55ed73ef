"""The real Redis server on loopback, with a key prefix of its own for every test.

Tests never share keys: each gets ``mobius-test:<run>:<n>:`` and its keys are deleted afterwards.
"""

from __future__ import annotations

import itertools
import os
import uuid
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as redis

REDIS_URL = os.environ.get("MOBIUS_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
_RUN = uuid.uuid4().hex[:8]
_counter = itertools.count()


@pytest.fixture(scope="session")
def redis_url() -> str:
    return REDIS_URL


@pytest.fixture
async def redis_prefix(redis_url: str) -> AsyncIterator[str]:
    """A fresh key prefix on the real server; fails loudly if no Redis answers."""
    prefix = f"mobius-test:{_RUN}:{next(_counter)}:"
    client = redis.Redis.from_url(redis_url)
    try:
        await client.ping()
    except redis.ConnectionError as exc:
        await client.aclose()
        pytest.fail(f"no Redis server at {redis_url} ({exc}); scripts/test starts one")
    try:
        yield prefix
    finally:
        keys = [key async for key in client.scan_iter(match=f"{prefix}*", count=500)]
        if keys:
            await client.delete(*keys)
        await client.aclose()
