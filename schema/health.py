"""The `upstreams` query: what the gateway knows about each upstream's health."""

from __future__ import annotations

from enum import Enum

import strawberry

from schema.context import UpstreamStatus


@strawberry.enum(description="Circuit-breaker state of an upstream.")
class BreakerState(Enum):
    CLOSED = "CLOSED"
    OPEN = "OPEN"
    HALF_OPEN = "HALF_OPEN"


@strawberry.type
class UpstreamHealth:
    name: str
    url: str
    state: BreakerState

    @classmethod
    def from_status(cls, status: UpstreamStatus) -> UpstreamHealth:
        return cls(name=status.name, url=status.url, state=BreakerState(status.state))
