"""Webhook signature schemes, checked on the raw body before anything reads it.

- ``standard_webhooks``: ``webhook-id``, ``webhook-timestamp`` (unix seconds, within
  ``tolerance_s`` of now), ``webhook-signature`` (space-separated ``v1,<base64>``; any one
  matching is enough, which is how a sender rotates). The HMAC is the ``standardwebhooks`` package's.
- ``github_hmac_sha256``: ``X-Hub-Signature-256: sha256=<hex>`` of the body, and the delivery id in
  ``X-GitHub-Delivery``. It carries no timestamp: replays are stopped by the delivery id alone.

Each scheme accepts the current secret or the previous one (rotation without downtime). Every
comparison is constant-time; every header is bounded before it is read.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from standardwebhooks.webhooks import Webhook as StandardWebhook

from clients.declaration import WebhookScheme

MAX_ID_CHARS = 200
MAX_SIGNATURE_HEADER_CHARS = 2048
MAX_SIGNATURES = 10
_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,200}$")
_TIMESTAMP = re.compile(r"^[0-9]{1,12}$")
_HEX_SHA256 = re.compile(r"^sha256=([0-9a-fA-F]{64})$")


class Rejected(Exception):
    """The delivery is refused: ``status`` 400 (malformed), 401 (unsigned, badly signed, stale),
    413 (too large) or 503 (the gateway cannot check it now);
    ``reason`` is short, fixed text safe to log and to answer with."""

    def __init__(self, status: int, reason: str, *, outcome: str | None = None) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.outcome = outcome or ("rejected_signature" if status == 401 else "rejected_malformed")


@dataclass(frozen=True, slots=True)
class Verified:
    delivery_id: str


def _header(headers: Mapping[str, str], name: str) -> str | None:
    return headers.get(name)


def _delivery_id(value: str | None, header: str) -> str:
    if value is None:
        raise Rejected(400, f"missing {header} header")
    if not _ID.match(value):
        raise Rejected(400, f"malformed {header} header")
    return value


def _standard_key(secret: str) -> StandardWebhook:
    """``whsec_<base64>`` as the scheme defines secrets; any other text is used as raw key bytes."""
    return StandardWebhook(secret if secret.startswith("whsec_") else secret.encode())


def verify_standard(
    headers: Mapping[str, str], body: bytes, secrets: Sequence[str], *, now_s: float, tolerance_s: float
) -> Verified:
    signature = _header(headers, "webhook-signature")
    if not signature:
        raise Rejected(401, "missing webhook-signature header")
    if len(signature) > MAX_SIGNATURE_HEADER_CHARS:
        raise Rejected(400, "malformed webhook-signature header")
    delivery_id = _delivery_id(_header(headers, "webhook-id"), "webhook-id")
    raw_timestamp = _header(headers, "webhook-timestamp")
    if raw_timestamp is None or not _TIMESTAMP.match(raw_timestamp):
        raise Rejected(400, "missing or malformed webhook-timestamp header")
    timestamp = int(raw_timestamp)
    if abs(now_s - timestamp) > tolerance_s:
        raise Rejected(401, "webhook-timestamp outside the tolerance", outcome="rejected_stale_timestamp")
    offered = signature.split(" ")[:MAX_SIGNATURES]
    moment = datetime.fromtimestamp(timestamp, tz=UTC)
    for secret in secrets:
        expected = _standard_key(secret).sign(msg_id=delivery_id, timestamp=moment, data=body).encode()
        if any(hmac.compare_digest(expected, candidate.encode()) for candidate in offered):
            return Verified(delivery_id)
    raise Rejected(401, "no matching signature")


def verify_github(headers: Mapping[str, str], body: bytes, secrets: Sequence[str]) -> Verified:
    signature = _header(headers, "x-hub-signature-256")
    if not signature:
        raise Rejected(401, "missing X-Hub-Signature-256 header")
    found = _HEX_SHA256.match(signature) if len(signature) <= MAX_SIGNATURE_HEADER_CHARS else None
    if found is None:
        raise Rejected(400, "malformed X-Hub-Signature-256 header")
    delivery_id = _delivery_id(_header(headers, "x-github-delivery"), "X-GitHub-Delivery")
    offered = found.group(1).lower().encode()
    for secret in secrets:
        expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest().encode()
        if hmac.compare_digest(expected, offered):
            return Verified(delivery_id)
    raise Rejected(401, "no matching signature")


def verify(
    scheme: WebhookScheme,
    headers: Mapping[str, str],
    body: bytes,
    secrets: Sequence[str],
    *,
    now_s: float,
    tolerance_s: float,
) -> Verified:
    """``headers`` with lower-case names. Raises ``Rejected``."""
    if scheme == "standard_webhooks":
        return verify_standard(headers, body, secrets, now_s=now_s, tolerance_s=tolerance_s)
    return verify_github(headers, body, secrets)
