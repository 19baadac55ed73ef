"""The request and response shapes that auth flows and transports exchange."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(slots=True)
class OutgoingRequest:
    """One request as it will be sent. ``path_qs`` is the exact path and query on the wire."""

    method: str
    path_qs: str
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RawResponse:
    status: int
    headers: Mapping[str, str]
    body: bytes
