"""HMAC request signatures: which parts of a request are signed, how, and how the header reads.

The default scheme is billing's: ``Mobius-Signature: t=<unix>,v1=<hex>`` where the signature is
HMAC-SHA256 over ``"<t>.<METHOD>.<path?query>.<sha256 hex of body>"``.
"""

from __future__ import annotations

import hashlib
import hmac
import string
from dataclasses import dataclass
from typing import Literal

from clients.messages import OutgoingRequest

CanonicalPart = Literal["timestamp", "method", "path", "body_sha256", "content_type"]
Algorithm = Literal["sha256", "sha512"]

DEFAULT_PARTS: tuple[CanonicalPart, ...] = ("timestamp", "method", "path", "body_sha256")
DEFAULT_FORMAT = "t={timestamp},v1={signature}"
FORMAT_FIELDS = frozenset({"timestamp", "signature"})
_EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()


def format_fields(template: str) -> set[str]:
    """The ``{placeholders}`` a header format uses (for validating configuration)."""
    return {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}


@dataclass(frozen=True, kw_only=True)
class SignatureScheme:
    """How an upstream wants requests signed.

    ``resync_after_s``: when a 401 carries a ``Date`` further than this from the timestamp we
    signed with, our clock is taken to be off by that much and the request is signed again.
    """

    algorithm: Algorithm = "sha256"
    header: str = "Mobius-Signature"
    header_format: str = DEFAULT_FORMAT
    parts: tuple[CanonicalPart, ...] = DEFAULT_PARTS
    separator: str = "."
    resync_after_s: float = 30.0

    def canonical(self, timestamp: int, request: OutgoingRequest) -> bytes:
        parts = self.parts
        values = {"timestamp": str(timestamp), "method": request.method.upper(), "path": request.path_qs}
        if "body_sha256" in parts:
            values["body_sha256"] = hashlib.sha256(request.body).hexdigest() if request.body else _EMPTY_SHA256
        if "content_type" in parts:
            values["content_type"] = _header(request, "Content-Type")
        return self.separator.join([values[part] for part in parts]).encode()

    def signature(self, secret: str, timestamp: int, request: OutgoingRequest) -> str:
        return hmac.digest(secret.encode(), self.canonical(timestamp, request), self.algorithm).hex()

    def header_value(self, secret: str, timestamp: int, request: OutgoingRequest) -> str:
        return self.header_format.format(timestamp=timestamp, signature=self.signature(secret, timestamp, request))


def _header(request: OutgoingRequest, name: str) -> str:
    lowered = name.lower()
    return next((value for key, value in request.headers.items() if key.lower() == lowered), "")
