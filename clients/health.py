"""What the gateway knows about one upstream's health right now.

One record, built here from the upstream's transport and resilience pipeline and read as it is by
the ``upstreams`` query (whose Strawberry type declares the same fields) and by readiness.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from clients.policy import UpstreamPolicy
from clients.resilience.breaker import BreakerState
from clients.resilience.pipeline import Pipeline
from clients.shared_reads import SharedReads


@dataclass(frozen=True, slots=True)
class RecentTransition:
    from_state: BreakerState
    to_state: BreakerState
    reason: str
    seconds_ago: float


@dataclass(frozen=True, slots=True)
class UpstreamHealth:
    name: str
    vendor: str
    """Who serves the slot (``upstreams.<name>.vendor``)."""
    url: str
    state: BreakerState
    failure_rate: float | None
    """Percent of failed calls in the breaker's window."""
    slow_call_rate: float | None
    calls_in_window: int
    in_flight: int
    retry_budget_left: float
    rate_limit_remaining: int | None
    """Calls left, as the upstream last said."""
    last_error: str | None
    """Code of the last failed call."""
    transitions: tuple[RecentTransition, ...]
    """Recent breaker transitions, oldest first."""
    shared_reads: int
    """Reads answered by an identical call already in flight (``share_reads``), since start."""
    forced_by: str | None = None
    """Who forced the breaker's state for the fleet, while it is forced."""
    instance: str = ""
    """The process the row describes (``<replica>:<pid>``), filled in by whoever names processes."""


class Transport(Protocol):
    """What a health row is read from: an upstream's HTTP or GraphQL transport."""

    @property
    def policy(self) -> UpstreamPolicy: ...

    @property
    def pipeline(self) -> Pipeline: ...

    @property
    def shared_reads(self) -> SharedReads: ...


def upstream_health(transport: Transport, *, vendor: str) -> UpstreamHealth:
    pipeline = transport.pipeline
    breaker = pipeline.breaker
    stats = breaker.stats()
    now = pipeline.clock()
    return UpstreamHealth(
        name=transport.policy.name,
        vendor=vendor,
        url=transport.policy.base_url,
        state=breaker.state,
        failure_rate=stats.failure_rate,
        slow_call_rate=stats.slow_call_rate,
        calls_in_window=stats.calls,
        in_flight=pipeline.bulkhead.in_flight,
        retry_budget_left=pipeline.budget.tokens,
        rate_limit_remaining=pipeline.limiter.remaining,
        last_error=pipeline.last_error,
        transitions=tuple(
            RecentTransition(t.from_state, t.to_state, t.reason, round(now - t.at, 3)) for t in breaker.transitions
        ),
        shared_reads=transport.shared_reads.shared,
        forced_by=breaker.forced.by if breaker.forced is not None else None,
    )
