"""The two stream implementations behind one fixture, and an event factory."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator

import pytest
from redis_support import RedisBackend, prefixed

from mobius.events.model import Event
from mobius.events.stream import EventStream, MemoryEventStream, RedisEventStream
from mobius.redis import create_blocking_client

_ids = itertools.count()


def event(entity_id: str = "in-1", version: int = 1, *, event_id: str | None = None, source: str = "billing") -> Event:
    return Event(
        id=event_id or f"evt-{next(_ids)}",
        source=source,
        type="invoice.paid",
        entity_type="Invoice",
        entity_id=entity_id,
        version=version,
        occurred_at=1_700_000_000.0,
        data={"customer_id": "cus-1", "org_id": "org-1"},
    )


@pytest.fixture(params=["memory", "server", "cluster"])
async def stream(request: pytest.FixtureRequest, redis_url: str) -> AsyncIterator[EventStream]:
    """Each contract test runs in process and on Redis (one server, and a 3-node cluster)."""
    if request.param == "memory":
        yield MemoryEventStream(replay_ttl_s=900, version_ttl_s=3600)
        return
    url = request.getfixturevalue("redis_cluster_url") if request.param == "cluster" else redis_url
    backend = RedisBackend(request.param, url)
    async with prefixed(backend.client(), url) as prefix:
        redis_stream = RedisEventStream(
            create_blocking_client(backend.target(prefix), read_timeout_s=5.0),
            prefix=prefix,
            replay_ttl_s=900,
            version_ttl_s=3600,
        )
        await redis_stream.start()
        try:
            yield redis_stream
        finally:
            await redis_stream.close()
