"""``RabbitMqSource``: the projects upstream's issue events from a RabbitMQ topic exchange.

Topology, declared (idempotently) at every connection: the topic ``exchange``; a durable quorum
``queue`` bound to it by each routing key, dead-lettering to the fanout exchange ``<queue>.dlx``,
which feeds the quorum queue ``<queue>.dead``.

Delivery is at-least-once: a message is acknowledged only after ``sink.append`` returned, so a
crash or a lost connection before that leaves it for redelivery (the stream's consumer applies an
entity version once). A poison message (oversize, unparseable) is rejected without requeue and so
dead-lettered. When the sink fails the message goes back to the queue and the source drops its
connection and reconnects after a backoff, so a stream outage does not spin through the queue.

The source runs its own reconnect loop (backoff with jitter; the URL secret re-read before every
attempt, so a rotated password is picked up) rather than a library's robust connection, whose
reconnects would keep the old URL and hide the connection state from the metrics.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

import aio_pika
import structlog
from aio_pika.abc import AbstractChannel, AbstractIncomingMessage, AbstractQueue
from aiormq.exceptions import AMQPChannelError

from clients.redis_client import raise_consumed_cancel
from clients.secrets import SecretSource
from mobius.events.sources.base import EventSink
from mobius.events.sources.messages import MessageReader, PoisonMessage
from mobius.events.sources.reconnect import Backoff
from mobius.telemetry.broker import BROKER_CONNECTED, BROKER_MESSAGES, BROKER_RECONNECTS

log = structlog.get_logger("mobius.events.broker")
Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True, slots=True, kw_only=True)
class RabbitMqConfig:
    """One consumer's configuration, built once from ``events.broker``."""

    url: SecretSource
    exchange: str
    queue: str
    routing_keys: tuple[str, ...]
    prefetch: int
    reader: MessageReader
    connect_timeout_s: float
    backoff: Backoff
    name: str = "rabbitmq"


async def declare_topology(
    channel: AbstractChannel, *, exchange: str, queue: str, routing_keys: Sequence[str]
) -> AbstractQueue:
    """The topic exchange, the quorum queue bound to it by each key, and its dead letters' path
    (``<queue>.dlx`` -> ``<queue>.dead``); idempotent, so every consumer declares it on connecting."""
    topic = await channel.declare_exchange(exchange, aio_pika.ExchangeType.TOPIC, durable=True)
    dead_letters = await channel.declare_exchange(f"{queue}.dlx", aio_pika.ExchangeType.FANOUT, durable=True)
    dead = await channel.declare_queue(f"{queue}.dead", durable=True, arguments={"x-queue-type": "quorum"})
    await dead.bind(dead_letters)
    consumed = await channel.declare_queue(
        queue, durable=True, arguments={"x-queue-type": "quorum", "x-dead-letter-exchange": f"{queue}.dlx"}
    )
    for routing_key in routing_keys:
        await consumed.bind(topic, routing_key=routing_key)
    return consumed


def _detail(exc: Exception) -> dict[str, str]:
    """The broker's own words for a refused declaration (``PRECONDITION_FAILED - inequivalent arg
    'x-queue-type'``), which an operator needs; never a connection error's text, which may carry the URL."""
    if isinstance(exc, AMQPChannelError):
        return {"detail": str(exc)[:300]}
    return {}


class ConnectionLost(ConnectionError):
    """The broker closed the channel or the connection under a consumer."""


class SinkFailed(RuntimeError):
    """``append`` raised: the message is back in the queue and the source reconnects after a wait."""


class RabbitMqSource:
    """Feeds the sink from one queue until cancelled; see the module docstring for the guarantees."""

    def __init__(self, config: RabbitMqConfig, *, sleep: Sleep = asyncio.sleep, rng: random.Random | None = None):
        self.config = config
        self.name = config.name
        self.consuming = asyncio.Event()
        """Set while the queue is declared and consumed; cleared when the connection is lost."""
        self.connections = 0
        """Connections that got as far as consuming (the first plus every reconnect that did)."""
        self._sleep = sleep
        self._rng = rng or random.Random()  # noqa: S311  # jitter, not a secret
        self._appended = BROKER_MESSAGES.labels(config.name, "appended")
        self._sink_failed = BROKER_MESSAGES.labels(config.name, "sink_failed")
        self._connected = BROKER_CONNECTED.labels(config.name)
        self._reconnects = BROKER_RECONNECTS.labels(config.name)

    async def run(self, sink: EventSink) -> None:
        failures = 0
        attempted = False
        while True:
            if attempted:
                self._reconnects.inc()
            attempted = True
            try:
                await self._consume_once(sink)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # any failure of one connection ends in the same reconnect
                log.warning("broker_disconnected", source=self.name, error=type(exc).__name__, **_detail(exc))
                if self.consuming.is_set() and not isinstance(exc, SinkFailed):
                    failures = 0  # it was up: the next attempt waits the shortest time
            finally:
                self.consuming.clear()
                self._connected.set(0)
            await self._sleep(self.config.backoff.delay_s(failures, self._rng.uniform))
            failures += 1

    async def _consume_once(self, sink: EventSink) -> None:
        url = self.config.url
        await url.refresh()
        connection = aio_pika.Connection(
            aio_pika.connection.make_url(url.reveal()), client_properties={"connection_name": self.name}
        )
        try:
            await connection.connect(timeout=self.config.connect_timeout_s)
        except BaseException:
            await connection.close()  # a refused attempt leaves nothing behind to close at garbage collection
            raise
        async with connection:
            channel = await connection.channel()
            await channel.set_qos(prefetch_count=self.config.prefetch)
            queue = await declare_topology(
                channel, exchange=self.config.exchange, queue=self.config.queue, routing_keys=self.config.routing_keys
            )
            self.connections += 1
            async with queue.iterator() as messages:
                self.consuming.set()
                self._connected.set(1)
                log.info("broker_consuming", source=self.name, queue=self.config.queue)
                async for message in messages:
                    await self._handle(message, sink)
                    raise_consumed_cancel()  # the sink's Redis command may have consumed a stop
        raise ConnectionLost("the broker closed the consumer's channel")

    async def _handle(self, message: AbstractIncomingMessage, sink: EventSink) -> None:
        try:
            events = self.config.reader.events(message.body, message_id=message.message_id)
        except PoisonMessage as poison:
            await message.reject(requeue=False)
            BROKER_MESSAGES.labels(self.name, poison.reason).inc()
            log.warning("broker_message_rejected", source=self.name, reason=poison.reason, detail=str(poison))
            return
        try:
            for event in events:
                await sink.append(event)
        except Exception as exc:
            self._sink_failed.inc()
            await message.nack(requeue=True)
            raise SinkFailed(type(exc).__name__) from exc
        await message.ack()
        self._appended.inc()
