"""The Redis loops that run until stopped end when stopped, even where the stop landed while a
command was being sent and redis-py consumed it (``clients.redis_client.cancel_requested``): the
fleet reporter and the pub/sub listener (the cache's invalidations, the breaker board, the
subscription bus). Against the real Redis, with a client that sends under a ``socket_timeout``."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as redis
from cancel_support import StopDuringCommand

from clients.redis_pubsub import PubSubListener
from resolvers.fleet import InstanceReport, RedisFleet, cache_counters


@pytest.fixture
async def client(redis_url: str) -> AsyncIterator[redis.Redis]:
    """A client like the gateway's shared one: its commands are sent under a timeout."""
    timed = redis.Redis.from_url(redis_url, socket_timeout=5.0)
    yield timed
    await timed.aclose()


async def test_the_fleet_reporter_stops_when_its_report_consumed_the_stop(
    monkeypatch: pytest.MonkeyPatch, client: redis.Redis, redis_prefix: str
) -> None:
    def report() -> InstanceReport:
        return InstanceReport("here:1", time.time(), True, (), cache_counters(None, None))

    # It reports every minute: a reporter that missed its stop sleeps that minute first.
    fleet = RedisFleet(client, prefix=redis_prefix, instance="here:1", report=report, report_s=60.0)
    stopper = StopDuringCommand(monkeypatch, "ZADD", fleet.stop)
    await fleet.start()

    await stopper.stopped()

    assert await client.exists(f"{redis_prefix}{{fleet}}:i:here:1") == 0  # and it said goodbye


async def test_a_listener_stops_when_its_catch_up_consumed_the_stop(
    monkeypatch: pytest.MonkeyPatch, client: redis.Redis, redis_url: str, redis_prefix: str
) -> None:
    subscriber = redis.Redis.from_url(redis_url)  # as ``create_subscriber``: no read timeout

    async def catch_up() -> None:  # as the breaker board's: a command on the shared client
        await client.get(f"{redis_prefix}missed")

    listener = PubSubListener(
        subscriber, channel=f"{redis_prefix}channel", handle=lambda _: None, lost_event="lost", on_subscribed=catch_up
    )
    stopper = StopDuringCommand(monkeypatch, "GET", listener.stop)
    listener.start()
    try:
        await stopper.stopped()
        assert not listener.listening.is_set()
    finally:
        await subscriber.aclose()


async def test_a_listener_stops_when_its_failed_catch_up_consumed_the_stop(
    monkeypatch: pytest.MonkeyPatch, client: redis.Redis, redis_url: str, redis_prefix: str
) -> None:
    subscriber = redis.Redis.from_url(redis_url)

    async def catch_up() -> None:
        await client.get(f"{redis_prefix}missed")

    # It would subscribe again a minute later: a listener that missed its stop waits that minute first.
    listener = PubSubListener(
        subscriber,
        channel=f"{redis_prefix}channel",
        handle=lambda _: None,
        lost_event="lost",
        on_subscribed=catch_up,
        reconnect_s=60.0,
    )
    stopper = StopDuringCommand(monkeypatch, "GET", listener.stop, then_fail=True)
    listener.start()
    try:
        await stopper.stopped()
    finally:
        await subscriber.aclose()
