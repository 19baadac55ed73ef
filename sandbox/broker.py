"""The sandbox's publisher to a RabbitMQ topic exchange: the projects upstream sends its issue
events there (`mobius sandbox --broker-url amqp://... --broker-exchange X`), with the body of its
webhook and the delivery id as the AMQP message id.

Publishing never blocks a mutation: a change is queued and one task publishes it with publisher
confirms, reconnecting after a second when the broker is away (queued changes wait, up to
``max_pending``; beyond that the oldest is dropped and counted). `GET /_sandbox/broker` shows it;
`POST /_sandbox/reset` zeroes its counters.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
from dataclasses import dataclass

import aio_pika
from aiohttp import web

from sandbox.upstream import UPSTREAM_KEY, json_response

RECENT_KEPT = 50
_RECONNECT_S = 1.0


@dataclass(frozen=True, kw_only=True)
class BrokerTarget:
    url: str
    exchange: str = "projects.events"


@dataclass(frozen=True, slots=True)
class Publish:
    routing_key: str
    message_id: str
    body: bytes


class BrokerPublisher:
    def __init__(self, target: BrokerTarget, *, max_pending: int = 100_000) -> None:
        self.target = target
        self._pending: collections.deque[Publish] = collections.deque(maxlen=max_pending)
        self._wake = asyncio.Event()
        self._recent: collections.deque[dict[str, str]] = collections.deque(maxlen=RECENT_KEPT)
        self._task: asyncio.Task[None] | None = None
        self.published = 0
        self.dropped = 0
        self.connected = False
        self.errors = 0

    def publish(self, routing_key: str, message_id: str, body: bytes) -> None:
        if len(self._pending) == self._pending.maxlen:
            self.dropped += 1
        self._pending.append(Publish(routing_key, message_id, body))
        self._wake.set()

    async def start(self, _app: web.Application | None = None) -> None:
        self._task = asyncio.create_task(self._run(), name="sandbox-broker-publisher")

    async def stop(self, _app: web.Application | None = None) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def reset(self) -> None:
        """Zero the counters and forget the recent messages; queued changes are still published."""
        self.published = 0
        self.dropped = 0
        self.errors = 0
        self._recent.clear()

    def stats(self) -> dict[str, object]:
        return {
            "exchange": self.target.exchange,
            "connected": self.connected,
            "published": self.published,
            "pending": len(self._pending),
            "dropped": self.dropped,
            "errors": self.errors,
            "recent": list(self._recent),
        }

    async def _run(self) -> None:
        while True:
            try:
                await self._publish_while_connected()
            except asyncio.CancelledError:
                raise
            except Exception:  # the broker went away: keep what is pending and connect again
                self.errors += 1
            finally:
                self.connected = False
            await asyncio.sleep(_RECONNECT_S)

    async def _publish_while_connected(self) -> None:
        connection = aio_pika.Connection(aio_pika.connection.make_url(self.target.url))
        try:
            await connection.connect(timeout=5)
        except BaseException:
            await connection.close()
            raise
        async with connection:
            channel = await connection.channel(publisher_confirms=True)
            exchange = await channel.declare_exchange(self.target.exchange, aio_pika.ExchangeType.TOPIC, durable=True)
            self.connected = True
            while True:
                while not self._pending:
                    self._wake.clear()
                    await self._wake.wait()
                change = self._pending[0]
                message = aio_pika.Message(
                    change.body,
                    message_id=change.message_id,
                    content_type="application/json",
                    delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                )
                await exchange.publish(message, change.routing_key)
                self._pending.popleft()
                self.published += 1
                self._recent.append({"routing_key": change.routing_key, "message_id": change.message_id})


BROKER_KEY: web.AppKey[BrokerPublisher] = web.AppKey("sandbox_broker")


def attach_broker(app: web.Application, publisher: BrokerPublisher) -> None:
    """Publish this upstream's events through ``publisher`` while the app runs; `/_sandbox/broker` shows it
    and `/_sandbox/reset` clears its counters."""
    app[BROKER_KEY] = publisher
    app[UPSTREAM_KEY].reset_hooks.append(publisher.reset)
    app.on_startup.append(publisher.start)
    app.on_cleanup.append(publisher.stop)
    app.router.add_get("/_sandbox/broker", _broker_stats)


async def _broker_stats(request: web.Request) -> web.Response:
    return json_response(request.app[BROKER_KEY].stats())
