"""Signed webhooks from a sandbox upstream to a configured target, as the real vendors send them.

An upstream whose state changes calls ``WebhookSender.emit``; with a target set (``mobius sandbox
--webhook-target URL`` or ``POST /_sandbox/webhooks {"target": URL}``) the change is POSTed to
``<target>/webhooks/<slot>``, signed per the upstream's scheme, and retried with exponential backoff
(and jitter) while the answer is not 2xx. ``GET /_sandbox/webhooks`` shows the recent deliveries.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import random
import time
import uuid
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import aiohttp
import orjson
from aiohttp import web
from standardwebhooks.webhooks import Webhook as StandardWebhook

from sandbox.upstream import Clock, json_response

Scheme = Literal["standard_webhooks", "github_hmac_sha256"]
_KEPT_DELIVERIES = 200
_TIMEOUT_S = 5.0


@dataclass(slots=True)
class Delivery:
    id: str
    type: str
    attempts: int = 0
    status: int | None = None
    outcome: Literal["pending", "delivered", "failed"] = "pending"

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": self.type,
            "attempts": self.attempts,
            "status": self.status,
            "outcome": self.outcome,
        }


class WebhookSender:
    def __init__(
        self,
        slot: str,
        scheme: Scheme,
        secret: str,
        *,
        clock: Clock = time.time,
        max_attempts: int = 8,
        backoff_s: float = 0.1,
        backoff_cap_s: float = 10.0,
    ) -> None:
        self.slot = slot
        self.scheme = scheme
        self.secret = secret
        self.clock = clock
        self.max_attempts = max_attempts
        self.backoff_s = backoff_s
        self.backoff_cap_s = backoff_cap_s
        self.default_target: str | None = None
        self.target: str | None = None
        self.deliveries: deque[Delivery] = deque(maxlen=_KEPT_DELIVERIES)
        self._tasks: set[asyncio.Task[None]] = set()
        self._session: aiohttp.ClientSession | None = None
        self._rng = random.Random()

    def emit(self, kind: str, payload: dict[str, Any]) -> None:
        """Send ``payload`` (a JSON object) in the background, if a target is set."""
        if self.target is None:
            return
        delivery = Delivery(id=f"msg_{uuid.uuid4().hex}", type=kind)
        self.deliveries.append(delivery)
        task = asyncio.get_running_loop().create_task(self._deliver(self.target, delivery, orjson.dumps(payload)))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def headers(self, delivery_id: str, body: bytes) -> dict[str, str]:
        if self.scheme == "standard_webhooks":
            timestamp = int(self.clock())
            signer = StandardWebhook(self.secret if self.secret.startswith("whsec_") else self.secret.encode())
            signature = signer.sign(delivery_id, datetime.fromtimestamp(timestamp, tz=UTC), body)
            return {"webhook-id": delivery_id, "webhook-timestamp": str(timestamp), "webhook-signature": signature}
        digest = hmac.new(self.secret.encode(), body, hashlib.sha256).hexdigest()
        return {"X-GitHub-Delivery": delivery_id, "X-Hub-Signature-256": f"sha256={digest}"}

    async def _deliver(self, target: str, delivery: Delivery, body: bytes) -> None:
        url = f"{target.rstrip('/')}/webhooks/{self.slot}"
        for attempt in range(self.max_attempts):
            delivery.attempts = attempt + 1
            headers = {"Content-Type": "application/json", **self.headers(delivery.id, body)}
            try:
                async with self._client().post(url, data=body, headers=headers) as response:
                    delivery.status = response.status
                    if 200 <= response.status < 300:
                        delivery.outcome = "delivered"
                        return
            except (aiohttp.ClientError, TimeoutError):
                delivery.status = None
            delay = min(self.backoff_cap_s, self.backoff_s * 2**attempt)
            await asyncio.sleep(delay * (0.5 + self._rng.random() / 2))
        delivery.outcome = "failed"

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=_TIMEOUT_S))
        return self._session

    def reset(self) -> None:
        for task in self._tasks:
            task.cancel()
        self._tasks.clear()
        self.deliveries.clear()
        self.target = self.default_target

    async def close(self) -> None:
        self.reset()
        if self._session is not None:
            await self._session.close()

    def snapshot(self) -> dict[str, Any]:
        outcomes = [delivery.outcome for delivery in self.deliveries]
        return {
            "target": self.target,
            "scheme": self.scheme,
            "counts": {name: outcomes.count(name) for name in ("pending", "delivered", "failed")},
            "deliveries": [delivery.to_json() for delivery in self.deliveries],
        }


WEBHOOKS_KEY = web.AppKey("webhooks", WebhookSender)


def add_webhook_routes(app: web.Application, sender: WebhookSender) -> None:
    """``GET /_sandbox/webhooks`` (target and recent deliveries), ``POST /_sandbox/webhooks``
    ``{"target": URL or null}``; the sender's session closes with the app."""
    app[WEBHOOKS_KEY] = sender
    app.router.add_get("/_sandbox/webhooks", _show)
    app.router.add_post("/_sandbox/webhooks", _configure)

    async def close(_: web.Application) -> None:
        await sender.close()

    app.on_cleanup.append(close)


async def _show(request: web.Request) -> web.Response:
    return json_response(request.app[WEBHOOKS_KEY].snapshot())


async def _configure(request: web.Request) -> web.Response:
    sender = request.app[WEBHOOKS_KEY]
    try:
        body = await request.json()
    except ValueError:
        body = None
    target = body.get("target") if isinstance(body, dict) else ""
    if target is not None and not (isinstance(target, str) and target.startswith(("http://", "https://"))):
        message = 'Body must be {"target": "http://host:port"} or {"target": null}.'
        return json_response({"error": {"code": "invalid_target", "message": message}}, status=400)
    sender.target = target
    return json_response(sender.snapshot())


def next_version(versions: dict[str, int], key: str, clock: Clock) -> int:
    """A version for the entity's next change: the wall clock in milliseconds, and always past the
    last one (so versions keep growing across a sandbox restart)."""
    version = max(versions.get(key, 0) + 1, int(clock() * 1000))
    versions[key] = version
    return version
