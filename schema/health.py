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


@strawberry.type(description="A recent circuit-breaker transition.")
class BreakerTransition:
    from_state: BreakerState
    to_state: BreakerState
    reason: str
    seconds_ago: float


@strawberry.type
class UpstreamHealth:
    name: str
    url: str
    state: BreakerState
    failure_rate: float | None = strawberry.field(description="Percent of failed calls in the breaker's window.")
    slow_call_rate: float | None = strawberry.field(description="Percent of slow calls in the breaker's window.")
    calls_in_window: int
    in_flight: int
    retry_budget_left: float = strawberry.field(description="Retries this upstream may still spend.")
    rate_limit_remaining: int | None = strawberry.field(description="Calls left, as the upstream last said.")
    last_error: str | None = strawberry.field(description="Code of the last failed call.")
    transitions: list[BreakerTransition] = strawberry.field(description="Recent transitions, oldest first.")
    shared_reads: int = strawberry.field(
        description="Reads answered by an identical call already in flight (`share_reads`), since start."
    )

    @classmethod
    def from_status(cls, status: UpstreamStatus) -> UpstreamHealth:
        return cls(
            name=status.name,
            url=status.url,
            state=BreakerState(status.state),
            failure_rate=status.failure_rate,
            slow_call_rate=status.slow_call_rate,
            calls_in_window=status.calls_in_window,
            in_flight=status.in_flight,
            retry_budget_left=status.retry_budget_left,
            rate_limit_remaining=status.rate_limit_remaining,
            last_error=status.last_error,
            transitions=[
                BreakerTransition(
                    from_state=BreakerState(t.from_state),
                    to_state=BreakerState(t.to_state),
                    reason=t.reason,
                    seconds_ago=round(t.age_s, 3),
                )
                for t in status.transitions
            ],
            shared_reads=status.shared_reads,
        )
