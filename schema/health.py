"""The `upstreams` query's types: the GraphQL shape of ``clients.health.UpstreamHealth``, whose
records the query returns as they are (each field is read from the record of the same name)."""

from __future__ import annotations

import strawberry

from clients.resilience.breaker import BreakerState

strawberry.enum(BreakerState, description="Circuit-breaker state of an upstream.")


@strawberry.type(description="A recent circuit-breaker transition.")
class BreakerTransition:
    from_state: BreakerState
    to_state: BreakerState
    reason: str
    seconds_ago: float


@strawberry.type
class UpstreamHealth:
    name: str
    vendor: str = strawberry.field(description="The API serving this upstream (`upstreams.<name>.vendor`).")
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
    forced_by: str | None = strawberry.field(description="Who forced the breaker's state for the fleet, if anyone.")
    instance: str = strawberry.field(description="The process this row is of: `<replica>:<pid>`.")
