"""RabbitMqSource against the real broker: what reaches the sink, what is acknowledged, what is
dead-lettered, and how the consumer comes back after the broker drops it."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import aio_pika
import orjson
import pytest
import redis.asyncio as redis
import structlog
from broker_support import Broker
from cancel_support import StopDuringCommand

from clients.projects import parse_webhook
from clients.secrets import FileSecret, StaticSecret
from mobius.events.model import Event
from mobius.events.sources.messages import MessageReader
from mobius.events.sources.rabbitmq import RabbitMqConfig, RabbitMqSource
from mobius.events.sources.reconnect import Backoff
from mobius.telemetry.broker import BROKER_CONNECTED, BROKER_MESSAGES, BROKER_RECONNECTS

WAIT_S = 15.0  # a hang guard, not a timing claim


class RecordingSink:
    """The stream as the source sees it; ``failures`` appends raise before any is stored."""

    def __init__(self, failures: int = 0) -> None:
        self.events: list[Event] = []
        self.failures = failures
        self.attempts = 0
        self._changed = asyncio.Condition()

    async def append(self, event: Event) -> None:
        self.attempts += 1
        if self.failures:
            self.failures -= 1
            raise ConnectionError("stream unavailable")
        async with self._changed:
            self.events.append(event)
            self._changed.notify_all()

    async def wait_for(self, count: int) -> list[Event]:
        async def enough() -> None:
            async with self._changed:
                await self._changed.wait_for(lambda: len(self.events) >= count)

        await asyncio.wait_for(enough(), WAIT_S)
        return self.events


def issue_body(issue_id: str = "issue-1", version: int = 2, action: str = "closed") -> bytes:
    """The projects upstream's webhook body: the broker carries the same bytes."""
    issue = {"id": issue_id, "state": "CLOSED", "project_id": "project-1", "version": version}
    return orjson.dumps({"action": action, "occurred_at": 1.5, "issue": issue})


def config(broker: Broker, **overrides: object) -> RabbitMqConfig:
    fields: dict[str, object] = {
        "url": StaticSecret(broker.url),
        "exchange": broker.exchange,
        "queue": broker.queue,
        "routing_keys": ("projects.issue.*",),
        "prefetch": 8,
        "reader": MessageReader(source="projects", parse=parse_webhook, max_bytes=1024),
        "connect_timeout_s": 5.0,
        "backoff": Backoff(initial_s=0.01, max_s=0.05),
        "name": f"test-{broker.queue}",
    } | overrides
    return RabbitMqConfig(**fields)  # type: ignore[arg-type]


@contextlib.asynccontextmanager
async def running(source: RabbitMqSource, sink: RecordingSink) -> AsyncIterator[asyncio.Task[None]]:
    task = asyncio.create_task(source.run(sink))
    try:
        await asyncio.wait_for(source.consuming.wait(), WAIT_S)
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


Delivery = tuple[str, bytes]
"""(message id, body)"""


async def publish(broker: Broker, *messages: Delivery, routing_key: str = "projects.issue.closed") -> None:
    connection = await aio_pika.connect(broker.url)
    async with connection:
        channel = await connection.channel()
        exchange = await channel.declare_exchange(broker.exchange, aio_pika.ExchangeType.TOPIC, durable=True)
        for message_id, body in messages:
            message = aio_pika.Message(body, message_id=message_id, delivery_mode=aio_pika.DeliveryMode.PERSISTENT)
            await exchange.publish(message, routing_key)


async def queue_depths(broker: Broker) -> tuple[int, int]:
    """Messages ready in (the queue, its dead-letter queue), after the consumer let go."""
    connection = await aio_pika.connect(broker.url)
    async with connection:
        channel = await connection.channel()
        queue = await channel.declare_queue(broker.queue, passive=True)
        dead = await channel.declare_queue(f"{broker.queue}.dead", passive=True)
        return queue.declaration_result.message_count or 0, dead.declaration_result.message_count or 0


async def test_consumes_issue_events_into_the_sink_and_acknowledges_them(broker: Broker) -> None:
    sink = RecordingSink()
    source = RabbitMqSource(config(broker))
    async with running(source, sink):
        await publish(broker, ("d-1", issue_body(version=2)), ("d-2", issue_body(version=3)))
        await publish(broker, ("d-3", issue_body()), routing_key="projects.org.renamed")
        events = await sink.wait_for(2)
    assert [(e.id, e.type, e.entity_type, e.entity_id, e.version) for e in events] == [
        ("d-1", "issue.closed", "Issue", "issue-1", 2),
        ("d-2", "issue.closed", "Issue", "issue-1", 3),
    ]
    assert events[0].source == "projects"
    assert events[0].data["project_id"] == "project-1"
    assert await queue_depths(broker) == (0, 0)


async def test_a_message_whose_append_failed_is_delivered_again(broker: Broker) -> None:
    sink = RecordingSink(failures=1)
    source = RabbitMqSource(config(broker))
    appended = BROKER_MESSAGES.labels(source.name, "sink_failed")
    async with running(source, sink):
        await publish(broker, ("d-retry", issue_body()))
        events = await sink.wait_for(1)
    assert [e.id for e in events] == ["d-retry"]
    assert sink.attempts == 2
    assert appended._value.get() == 1
    assert source.connections >= 2  # it let go of the connection rather than spin on the failing sink
    assert await queue_depths(broker) == (0, 0)


async def test_poison_messages_are_dead_lettered_and_the_rest_still_flow(broker: Broker) -> None:
    sink = RecordingSink()
    source = RabbitMqSource(config(broker))
    poison = [
        ("p-1", b"{not json"),
        ("p-2", b"[1, 2]"),
        ("p-3", issue_body(action="deleted")),
        ("x" * 200, issue_body()),
        ("p-5", orjson.dumps({"pad": "x" * 2000})),
    ]
    async with running(source, sink):
        await publish(broker, *poison, ("d-good", issue_body()))
        events = await sink.wait_for(1)
        assert [e.id for e in events] == ["d-good"]
    assert await queue_depths(broker) == (0, 5)
    assert BROKER_MESSAGES.labels(source.name, "oversize")._value.get() == 1
    assert BROKER_MESSAGES.labels(source.name, "unparseable")._value.get() == 4


async def test_reconnects_after_the_broker_closes_its_connection(broker: Broker) -> None:
    sink = RecordingSink()
    source = RabbitMqSource(config(broker))
    async with running(source, sink):
        assert BROKER_CONNECTED.labels(source.name)._value.get() == 1
        await publish(broker, ("before", issue_body()))
        await sink.wait_for(1)
        await asyncio.to_thread(broker.close_connections)
        await publish(broker, ("after", issue_body(version=3)))
        events = await sink.wait_for(2)
        assert source.consuming.is_set()
    assert [e.id for e in events] == ["before", "after"]
    assert source.connections == 2
    assert BROKER_RECONNECTS.labels(source.name)._value.get() >= 1


async def test_reads_the_url_secret_again_before_every_connection_attempt(broker: Broker, tmp_path: Path) -> None:
    secret = tmp_path / "amqp-url"
    secret.write_text(broker.url.replace("guest:guest@", "guest:wrong-password@"))
    sink = RecordingSink()
    source = RabbitMqSource(config(broker, url=FileSecret(secret)))
    task = asyncio.create_task(source.run(sink))
    try:
        await asyncio.sleep(0.2)  # a few refused attempts with the old password
        assert not source.consuming.is_set()
        secret.write_text(broker.url)
        await asyncio.wait_for(source.consuming.wait(), WAIT_S)
        await publish(broker, ("rotated", issue_body()))
        assert [e.id for e in await sink.wait_for(1)] == ["rotated"]
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_cancelling_the_source_closes_its_connection_and_leaves_messages_queued(broker: Broker) -> None:
    sink = RecordingSink()
    source = RabbitMqSource(config(broker))
    async with running(source, sink) as task:
        pass
    assert task.cancelled()
    assert not source.consuming.is_set()
    assert BROKER_CONNECTED.labels(source.name)._value.get() == 0
    await publish(broker, ("while-stopped", issue_body()))
    assert await queue_depths(broker) == (1, 0)
    assert sink.events == []


@pytest.mark.parametrize("attempt", [0, 1, 5, 50])
def test_backoff_grows_to_its_cap_with_jitter_below_each_step(attempt: int) -> None:
    backoff = Backoff(initial_s=0.5, max_s=30.0, multiplier=2.0, jitter=0.5)
    ceiling = min(30.0, 0.5 * 2**attempt)
    assert backoff.delay_s(attempt, lambda low, high: high) == ceiling
    assert backoff.delay_s(attempt, lambda low, high: low) == ceiling / 2


async def test_a_queue_declared_otherwise_is_reported_in_the_brokers_words_and_retried(broker: Broker) -> None:
    connection = await aio_pika.connect(broker.url)
    async with connection:
        channel = await connection.channel()
        await channel.declare_queue(broker.queue, durable=True)  # classic, not quorum
    waits: list[float] = []
    retried = asyncio.Event()

    async def sleep(delay_s: float) -> None:
        waits.append(delay_s)
        if len(waits) == 2:
            retried.set()

    source = RabbitMqSource(config(broker), sleep=sleep)
    with structlog.testing.capture_logs() as logs:
        task = asyncio.create_task(source.run(RecordingSink()))
        try:
            await asyncio.wait_for(retried.wait(), WAIT_S)
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    refused = [entry for entry in logs if entry["event"] == "broker_disconnected"]
    assert refused
    assert "PRECONDITION_FAILED" in refused[0]["detail"]
    assert "guest" not in str(refused)
    assert not source.consuming.is_set()
    assert waits[1] > waits[0] * 0.9  # backing off, not spinning (jitter takes at most half of a step)


class BlockedSink:
    """An append that never returns (the stream hangs), until the consumer is stopped."""

    def __init__(self) -> None:
        self.entered = asyncio.Event()

    async def append(self, event: Event) -> None:
        self.entered.set()
        await asyncio.Event().wait()


async def test_a_consumer_stopped_during_append_leaves_the_message_in_the_queue(broker: Broker) -> None:
    sink = BlockedSink()
    source = RabbitMqSource(config(broker))
    task = asyncio.create_task(source.run(sink))
    await asyncio.wait_for(source.consuming.wait(), WAIT_S)
    await publish(broker, ("in-flight", issue_body()))
    await asyncio.wait_for(sink.entered.wait(), WAIT_S)
    assert await queue_depths(broker) == (0, 0)  # delivered, not acknowledged
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    assert await queue_depths(broker) == (1, 0)  # back for the next consumer


class RedisSink:
    """An append is one Redis command, sent under a timeout as the stream's are."""

    def __init__(self, client: redis.Redis, key: str) -> None:
        self.client = client
        self.key = key

    async def append(self, event: Event) -> None:
        await self.client.rpush(self.key, event.id)


async def test_a_consumer_stops_when_its_append_consumed_the_stop(
    broker: Broker, monkeypatch: pytest.MonkeyPatch, redis_url: str, redis_prefix: str
) -> None:
    client = redis.Redis.from_url(redis_url, socket_timeout=5.0)
    source = RabbitMqSource(config(broker))
    task = asyncio.create_task(source.run(RedisSink(client, f"{redis_prefix}appended")))

    async def stop() -> None:  # as ``Events.close``
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    stopper = StopDuringCommand(monkeypatch, "RPUSH", stop)
    try:
        await asyncio.wait_for(source.consuming.wait(), WAIT_S)
        await publish(broker, ("appended", issue_body()))
        await stopper.stopped()
    finally:
        await client.aclose()
