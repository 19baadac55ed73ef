"""Gateways with subscriptions over one real Redis, and a publisher that plays another replica."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import ExitStack, asynccontextmanager, contextmanager
from typing import Any

import redis.asyncio as redis
from canary import CANARY_CALLER_TOKEN
from harness import GatewayServer, gateway_settings

from mobius.events.model import Event
from mobius.subscriptions.bus import RedisBus
from mobius.subscriptions.publish import PublishEvents
from sandbox import SandboxCredentials, SandboxUrls

SandboxServerInfo = tuple[SandboxUrls, SandboxCredentials]
BEARER = f"Bearer {CANARY_CALLER_TOKEN}"
INVOICE_EVENTS = """
subscription Invoices($org: ID!) {
  invoiceEvents(orgId: $org) { id type invoiceId orgId version status occurredAt }
}"""


def subscription_settings(sandbox_server: SandboxServerInfo, redis_url: str, prefix: str, **subscriptions: Any) -> Any:
    return gateway_settings(
        sandbox_server, redis={"url": redis_url, "key_prefix": prefix}, subscriptions=subscriptions
    )


@contextmanager
def serving(
    sandbox_server: SandboxServerInfo, redis_url: str, prefix: str, count: int, **options: Any
) -> Iterator[list[GatewayServer]]:
    """``count`` gateways sharing one Redis, each with its own bus (as replicas are)."""
    with ExitStack() as stack:
        settings = subscription_settings(sandbox_server, redis_url, prefix, **options)
        yield [stack.enter_context(GatewayServer(settings)) for _ in range(count)]


def invoice_event(number: int, org_id: str = "org-1", status: str = "paid") -> Event:
    return Event(
        id=f"evt-{number}",
        source="billing",
        type=f"invoice.{status}",
        entity_type="invoice",
        entity_id=f"in-{number}",
        version=number,
        occurred_at=1_700_000_000.0 + number,
        data={"org_id": org_id, "status": status},
    )


async def until_listening(server: GatewayServer, topic: str, subscribers: int = 1) -> None:
    """Wait until ``server`` has ``subscribers`` for ``topic`` (pub/sub delivers only to those
    already listening)."""
    fanout = server.app.state.bus.fanout
    deadline = time.monotonic() + 10
    while len(fanout._topics.get(topic, ())) < subscribers:
        assert time.monotonic() < deadline, f"nobody subscribed to {topic}"
        await asyncio.sleep(0.01)


@asynccontextmanager
async def publisher(redis_url: str, prefix: str) -> AsyncIterator[PublishEvents]:
    """``PublishEvents`` on a bus of its own: events published as another replica would."""
    bus = RedisBus(redis.Redis.from_url(redis_url), redis.Redis.from_url(redis_url), key_prefix=prefix, buffer=1)
    try:
        yield PublishEvents(bus)
    finally:
        await bus.publisher.aclose()
        await bus.subscriber.aclose()

