"""Webhooks the sandbox sends, as the real upstream would: off until an endpoint is registered
with ``POST /_sandbox/webhooks {"url": ..., "secret": "whsec_..."}`` (``{"url": null}`` turns them
off; ``reset`` does too). Each is signed per Standard Webhooks (``webhook-id``,
``webhook-timestamp``, ``webhook-signature: v1,<base64 HMAC-SHA256 of id.timestamp.body>``) and
sent in the background, once; ``GET /_sandbox/webhooks`` counts what was delivered and failed."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
import uuid

import aiohttp
from aiohttp import web

from sandbox.models import JSON
from sandbox.upstream import json_response

_TIMEOUT = aiohttp.ClientTimeout(total=5)


def standard_signature(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{message_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


class WebhookSender:
    def __init__(self) -> None:
        self.url: str | None = None
        self.secret = ""
        self.delivered = 0
        self.failed = 0
        self._sending: set[asyncio.Task[None]] = set()

    def reset(self) -> None:
        self.url, self.secret = None, ""
        self.delivered = self.failed = 0

    def send(self, payload: JSON) -> None:
        """Deliver ``payload`` to the registered endpoint, if any, without delaying the caller."""
        if self.url is None:
            return
        task = asyncio.create_task(self._deliver(self.url, self.secret, payload))
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def _deliver(self, url: str, secret: str, payload: JSON) -> None:
        body = json.dumps(payload).encode()
        message_id = f"msg_{uuid.uuid4().hex}"
        timestamp = int(time.time())
        headers = {
            "content-type": "application/json",
            "webhook-id": message_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": standard_signature(secret, message_id, timestamp, body),
        }
        try:
            async with (
                aiohttp.ClientSession(timeout=_TIMEOUT) as session,
                session.post(url, data=body, headers=headers) as response,
            ):
                ok = response.status < 300
        except (aiohttp.ClientError, TimeoutError):
            ok = False
        if ok:
            self.delivered += 1
        else:
            self.failed += 1

    async def register(self, request: web.Request) -> web.Response:
        """Admin: ``POST /_sandbox/webhooks {"url": str | null, "secret": "whsec_..."}``."""
        try:
            body = await request.json()
        except json.JSONDecodeError:
            return json_response({"error": "the body must be JSON"}, status=400)
        url, secret = body.get("url"), body.get("secret", "")
        if url is not None and (not isinstance(url, str) or not isinstance(secret, str) or not secret):
            return json_response({"error": "give a url and its whsec_ secret, or url: null"}, status=400)
        self.url, self.secret = url, secret
        return json_response({"ok": True})

    async def stats(self, request: web.Request) -> web.Response:
        return json_response({"url": self.url, "delivered": self.delivered, "failed": self.failed})
