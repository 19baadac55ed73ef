"""A Redis that accepts connections and never answers holds the event path's start no longer than
one of the stores' commands may take (not the stream's long read timeout); the worker makes the
stream's group once Redis answers."""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit

from cache_support import RedisStandIn
from config_support import offline_upstreams
from structlog.testing import capture_logs

from mobius.events.runtime import build_events
from mobius.redis import RedisTarget
from mobius.settings import RedisSettings, Settings

HANG_GUARD_S = 30.0
"""Not a timing claim: the stream's blocking client waits block_s + 2 = 62 s for an answer."""


async def test_the_event_path_starts_without_waiting_out_the_streams_read_timeout(
    redis_url: str, redis_prefix: str
) -> None:
    settings = Settings.model_validate({"upstreams": offline_upstreams(), "events": {"block_s": 60}})
    async with RedisStandIn(urlsplit(redis_url).port or 6379) as stand_in:
        stand_in.mode = "stall"
        redis = RedisSettings(url=f"redis://127.0.0.1:{stand_in.port}/0", key_prefix=redis_prefix)
        events = build_events(settings, RedisTarget(redis, "server"), None, worker=False)
        with capture_logs() as logs:
            async with asyncio.timeout(HANG_GUARD_S):
                await events.start()
        await events.close()

    assert [log["event"] for log in logs] == ["events_stream_unavailable_at_start"]
    assert logs[0]["error"] == "TimeoutError"
