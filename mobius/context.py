"""Each request's context (caller, deadline, loaders), built by one object: the admission step
reads the deadline and starts it, the executor (or a WebSocket connection) builds the context."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from clients.call_records import current_record
from clients.resilience.deadline import start_deadline
from clients.upstreams import Upstreams
from mobius.callers import CallerIdentity
from mobius.settings import DeadlineSettings
from resolvers.cache import CacheEngine, ResponseCache
from resolvers.fleet import FleetView
from resolvers.loaders import Reads
from schema.context import Caller, GatewayContext
from schema.feed import EventFeed


def request_budget_s(header: str | None, settings: DeadlineSettings) -> float | None:
    """The request's deadline: the configured default, or less if the client asks for less;
    ``None`` when the header is not a positive number of milliseconds."""
    if header is None:
        return settings.default_s
    try:
        asked_ms = float(header)
    except ValueError:
        return None
    if not asked_ms > 0:
        return None
    return min(settings.default_s, asked_ms / 1000)


@dataclass(frozen=True, slots=True, kw_only=True)
class RequestContexts:
    upstreams: Upstreams
    reads: Reads
    callers: CallerIdentity
    deadline: DeadlineSettings
    clock: Callable[[], float]
    """Measures request deadlines (the one the upstreams' pipelines use)."""
    fallbacks: frozenset[str] = frozenset()
    engine: CacheEngine | None = None
    responses: ResponseCache | None = None
    fleet: FleetView | None = None
    events: EventFeed | None = None

    def budget_s(self, header: str | None) -> float | None:
        return request_budget_s(header, self.deadline)

    def begin(self, budget_s: float) -> None:
        """Start the request's deadline. Called in the request's own task: resolvers and
        dataloader batch tasks inherit it."""
        start_deadline(budget_s, self.clock)

    def new(self, caller: Caller, *, provenance: bool = False) -> GatewayContext:
        """With ``provenance`` the request's loads are recorded, so its response can be stored."""
        engine = self.engine
        cache = engine.request(provenance=provenance) if engine is not None else None
        record = current_record()
        if record is not None:
            record.caller = caller.name
        return GatewayContext(
            loaders=self.reads.loaders(cache),
            upstreams=self.upstreams,
            caller=caller,
            fallbacks=self.fallbacks,
            cache=engine,
            responses=self.responses,
            fleet=self.fleet,
            events=self.events,
        )
