"""Billing request signatures: `Mobius-Signature: t=<unix>,v1=<hex>`.

The signed message binds the timestamp, method, raw path with query string and a digest of the
body, so neither a replayed-late request nor a tampered one verifies.
"""

from __future__ import annotations

import hashlib
import hmac

from sandbox.params import parse_digits

SIGNATURE_HEADER = "Mobius-Signature"
TOLERANCE_S = 300


def billing_signature(secret: str, t: int, method: str, path_qs: str, body: bytes) -> str:
    """Hex HMAC-SHA256 of `f"{t}.{METHOD}.{path_qs}.{sha256_hex(body)}"` keyed by `secret`."""
    message = f"{t}.{method.upper()}.{path_qs}.{hashlib.sha256(body).hexdigest()}"
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


def signature_header(secret: str, t: int, method: str, path_qs: str, body: bytes) -> str:
    return f"t={t},v1={billing_signature(secret, t, method, path_qs, body)}"


def parse_signature_header(value: str) -> tuple[int, list[str]] | None:
    """(t, [v1 signatures]) or None when the header is unparseable or lacks either part."""
    timestamp: int | None = None
    signatures: list[str] = []
    for part in value.split(","):
        key, sep, item = part.strip().partition("=")
        if not sep:
            return None
        if key == "t":
            timestamp = parse_digits(item)
            if timestamp is None:
                return None
        elif key == "v1":
            signatures.append(item)
    if timestamp is None or not signatures:
        return None
    return timestamp, signatures


def verify(secret: str, header: str, method: str, path_qs: str, body: bytes, *, now: float) -> str | None:
    """None if the header verifies; otherwise why it does not (for the 401 message)."""
    parsed = parse_signature_header(header)
    if parsed is None:
        return f"{SIGNATURE_HEADER} must look like t=<unix seconds>,v1=<hex>."
    t, candidates = parsed
    if abs(now - t) > TOLERANCE_S:
        return f"Signature timestamp is more than {TOLERANCE_S} s away from the server clock."
    expected = billing_signature(secret, t, method, path_qs, body).encode()
    if not any(hmac.compare_digest(expected, c.encode()) for c in candidates):
        return "Signature does not match the request."
    return None
