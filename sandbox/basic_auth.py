"""HTTP Basic credentials (RFC 7617) as an upstream reads them from `Authorization`."""

from __future__ import annotations

import base64
import binascii

MAX_HEADER_CHARS = 4096
"""Longer headers are refused before decoding."""


def basic_credentials(header: str) -> tuple[str, str] | None:
    """(user, password) from `Basic <base64 of user:password>`, or None when it is not one."""
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic" or len(encoded) > MAX_HEADER_CHARS:
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, sep, password = decoded.partition(":")
    return (user, password) if sep else None
