"""The two stream implementations behind one fixture, and an event factory."""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from canary import CANARY
from redis_support import RedisBackend, prefixed
from standardwebhooks.webhooks import Webhook as StandardWebhook

from mobius.demo import sandbox_upstreams
from mobius.events.model import Event
from mobius.events.stream import EventStream, MemoryEventStream, RedisEventStream
from mobius.redis import create_blocking_client
from mobius.settings import Settings, load_settings
from sandbox import SandboxCredentials, SandboxUrls

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


BILLING_SECRET = "whsec_" + base64.b64encode(b"billing-webhook-key-" + CANARY.encode()).decode()
BILLING_PREVIOUS_SECRET = "whsec_" + base64.b64encode(b"billing-previous-key").decode()
PROJECTS_SECRET = f"projects-webhook-{CANARY}"
SUPPORT_SECRET = f"support-webhook-{CANARY}"


def webhook_settings(
    sandbox_server: tuple[SandboxUrls, SandboxCredentials], *, redis: dict[str, Any] | None, **overrides: Any
) -> Settings:
    """Gateway settings on the sandbox that accept its signed webhooks (billing with a previous secret too)."""
    urls, credentials = sandbox_server
    upstreams = sandbox_upstreams(urls, credentials)
    upstreams["billing"]["webhook"] = {"secret": BILLING_SECRET, "previous_secret": BILLING_PREVIOUS_SECRET}
    upstreams["projects"]["webhook"] = {"secret": PROJECTS_SECRET}
    upstreams["support"]["webhook"] = {"secret": SUPPORT_SECRET, "max_body_bytes": 2048}
    if redis is not None:
        overrides["redis"] = redis
    return load_settings(upstreams=upstreams, callers=[], **overrides)


def sign_standard(secret: str, delivery_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    signature = StandardWebhook(secret).sign(delivery_id, datetime.fromtimestamp(timestamp, tz=UTC), body)
    return {"webhook-id": delivery_id, "webhook-timestamp": str(timestamp), "webhook-signature": signature}


def sign_github(secret: str, delivery_id: str, body: bytes) -> dict[str, str]:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {"X-GitHub-Delivery": delivery_id, "X-Hub-Signature-256": f"sha256={digest}"}


def invoice_body(invoice_id: str = "in-1", version: int = 1, *, kind: str = "invoice.paid") -> bytes:
    return orjson.dumps(
        {
            "type": kind,
            "occurred_at": time.time(),
            "data": {"id": invoice_id, "customer": "cus-1", "org_id": "org-1", "status": "paid", "version": version},
        }
    )
