"""The subscription bus: events published to a topic reach every subscriber of that topic.

``RedisBus`` carries them over Redis pub/sub (channel ``<key_prefix>events:<topic>``), so an event
published by any replica reaches subscribers on every replica; each replica holds one pattern
subscription and fans a message out to its local subscribers. ``InProcessBus`` fans out within the
process (no Redis). Either way a subscriber has a bounded buffer: one that falls ``buffer`` events
behind is dropped (its ``on_overflow`` is called once, the drop counted) rather than slowing the
publisher or the other subscribers.

Pub/sub delivers at most once: a replica disconnected from Redis misses what is published
meanwhile (the durable stream in front of the bus is what retries).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any, Protocol

import orjson
import redis.asyncio as redis
import structlog
from prometheus_client import Counter, Gauge

from clients.redis_pubsub import PubSubListener
from mobius.redis import RedisTarget, create_redis, create_subscriber
from mobius.settings import SubscriptionsSettings
from schema.feed import EventMessage

log = structlog.get_logger("mobius.subscriptions")

SUBSCRIBERS = Gauge(
    "mobius_subscription_subscribers",
    "Subscribers listening for events (summed over workers).",
    multiprocess_mode="livesum",
)
DELIVERIES = Counter("mobius_subscription_deliveries", "Events handed to a subscriber's buffer.")
DROPS = Counter("mobius_subscription_drops", "Subscribers dropped because their buffer was full.")
MAX_MESSAGE_BYTES = 1_048_576
"""A pub/sub message larger than this is not decoded (nothing the gateway publishes comes close)."""


class Bus(Protocol):
    """Publish to a topic; subscribe to one (``schema.feed.EventFeed``)."""

    async def publish(self, topic: str, message: EventMessage) -> None: ...

    async def publish_many(self, messages: Sequence[tuple[str, EventMessage]]) -> None:
        """``publish`` of each (topic, message), in order, in one round trip."""
        ...

    def subscribe(self, topic: str, *, on_overflow: Callable[[], None] | None = None) -> Subscriber: ...

    async def start(self) -> None: ...

    async def close(self) -> None: ...


_DROPPED: EventMessage = {}
"""Put in a dropped subscriber's emptied buffer: its stream ends there."""


class Subscriber:
    """One subscriber's buffered events. After an overflow the stream ends, or, when the transport
    asked to be told (``on_overflow``), waits for the transport to end it (so nothing more is sent
    on a connection being closed)."""

    def __init__(self, fanout: Fanout, topic: str, buffer: int, on_overflow: Callable[[], None] | None) -> None:
        self._fanout = fanout
        self.topic = topic
        self._queue: asyncio.Queue[EventMessage] = asyncio.Queue(maxsize=buffer)
        self._on_overflow = on_overflow
        self.overflowed = False
        self._closed = False

    def offer(self, message: EventMessage) -> None:
        try:
            self._queue.put_nowait(message)
        except asyncio.QueueFull:
            self._drop()
            return
        DELIVERIES.inc()

    def _drop(self) -> None:
        DROPS.inc()
        self.overflowed = True
        self.close()
        while not self._queue.empty():
            self._queue.get_nowait()
        self._queue.put_nowait(_DROPPED)
        log.info("subscriber_dropped", topic=self.topic[:100], buffer=self._queue.maxsize)
        if self._on_overflow is not None:
            self._on_overflow()

    def __aiter__(self) -> AsyncIterator[EventMessage]:
        return self._events()

    async def _events(self) -> AsyncIterator[EventMessage]:
        while (message := await self._queue.get()) is not _DROPPED:
            yield message
        if self._on_overflow is not None:
            await asyncio.Event().wait()  # the transport closes the connection and cancels this

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._fanout.remove(self)


class Fanout:
    """This process's subscribers by topic."""

    def __init__(self, buffer: int) -> None:
        self.buffer = buffer
        self._topics: dict[str, set[Subscriber]] = {}

    def add(self, topic: str, on_overflow: Callable[[], None] | None) -> Subscriber:
        subscriber = Subscriber(self, topic, self.buffer, on_overflow)
        self._topics.setdefault(topic, set()).add(subscriber)
        SUBSCRIBERS.inc()
        return subscriber

    def remove(self, subscriber: Subscriber) -> None:
        subscribers = self._topics.get(subscriber.topic)
        if subscribers is None or subscriber not in subscribers:
            return
        subscribers.discard(subscriber)
        if not subscribers:
            del self._topics[subscriber.topic]
        SUBSCRIBERS.dec()

    def listens(self, topic: str) -> bool:
        return topic in self._topics

    def deliver(self, topic: str, message: EventMessage) -> None:
        for subscriber in tuple(self._topics.get(topic, ())):
            subscriber.offer(message)

    def close_all(self) -> None:
        for subscribers in tuple(self._topics.values()):
            for subscriber in tuple(subscribers):
                subscriber.close()


class InProcessBus:
    """Within one process: what ``mobius demo`` and a gateway without Redis use."""

    def __init__(self, *, buffer: int) -> None:
        self.fanout = Fanout(buffer)

    async def publish(self, topic: str, message: EventMessage) -> None:
        self.fanout.deliver(topic, message)

    async def publish_many(self, messages: Sequence[tuple[str, EventMessage]]) -> None:
        for topic, message in messages:
            self.fanout.deliver(topic, message)

    def subscribe(self, topic: str, *, on_overflow: Callable[[], None] | None = None) -> Subscriber:
        return self.fanout.add(topic, on_overflow)

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        self.fanout.close_all()


class RedisBus:
    """Across replicas, over Redis pub/sub. ``subscriber`` is a client without a read timeout
    (``mobius.redis.create_subscriber``); ``publisher`` the shared one."""

    def __init__(
        self,
        publisher: Any,
        subscriber: redis.Redis,
        *,
        key_prefix: str,
        buffer: int,
        reconnect_s: float = 1.0,
        confirm_timeout_s: float = 2.0,
    ) -> None:
        self.publisher = publisher
        self.subscriber = subscriber
        self.channel_prefix = f"{key_prefix}events:"
        self.fanout = Fanout(buffer)
        self.confirm_timeout_s = confirm_timeout_s
        self._listener = PubSubListener(
            subscriber,
            channel=_glob_escape(self.channel_prefix) + "*",
            pattern=True,
            handle=self._handle,
            lost_event="subscription_bus_lost",
            reconnect_s=reconnect_s,
            confirm_timeout_s=confirm_timeout_s,
        )
        self.listening = self._listener.listening

    def channel(self, topic: str) -> str:
        return self.channel_prefix + topic

    async def publish(self, topic: str, message: EventMessage) -> None:
        await self.publisher.publish(self.channel(topic), orjson.dumps(message))

    async def publish_many(self, messages: Sequence[tuple[str, EventMessage]]) -> None:
        if not messages:
            return
        pipe = self.publisher.pipeline(transaction=False)
        for topic, message in messages:
            pipe.publish(self.channel(topic), orjson.dumps(message))
        await pipe.execute()

    def subscribe(self, topic: str, *, on_overflow: Callable[[], None] | None = None) -> Subscriber:
        return self.fanout.add(topic, on_overflow)

    async def start(self) -> None:
        """Start listening, and wait (briefly) until Redis confirms, so that an event published
        after start-up reaches this replica's subscribers."""
        self._listener.start()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self.confirm_timeout_s):
                await self.listening.wait()

    async def close(self) -> None:
        await self._listener.stop()
        self.fanout.close_all()
        await self.subscriber.aclose()
        await self.publisher.aclose()

    def _handle(self, message: dict[str, Any]) -> None:
        channel, data = message.get("channel"), message.get("data")
        if not isinstance(channel, bytes) or not isinstance(data, bytes) or len(data) > MAX_MESSAGE_BYTES:
            return
        topic = channel[len(self.channel_prefix) :].decode("utf-8", "replace")
        if not self.fanout.listens(topic):
            return
        try:
            event = orjson.loads(data)
        except orjson.JSONDecodeError:
            return
        if isinstance(event, dict):
            self.fanout.deliver(topic, event)


def _glob_escape(text: str) -> str:
    """``text`` matched literally in a Redis glob pattern."""
    return "".join(f"\\{char}" if char in "*?[]\\" else char for char in text)


def build_bus(settings: SubscriptionsSettings, target: RedisTarget | None) -> Bus:
    """Over Redis where one is configured (every replica's subscribers), else in-process."""
    if target is None:
        return InProcessBus(buffer=settings.buffer)
    return RedisBus(
        create_redis(target),
        create_subscriber(target),
        key_prefix=target.settings.key_prefix,
        buffer=settings.buffer,
    )
