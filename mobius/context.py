"""Each request's context (caller, deadline, loaders), built by one object for both ways in:
Strawberry's context getter (GET, WebSockets, the full POST path) and the lean POST path."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from fastapi import HTTPException
from starlette.requests import HTTPConnection

from clients.resilience.deadline import start_deadline
from clients.upstreams import Upstreams
from mobius.callers import CallerRegistry, UnknownCaller
from mobius.settings import DeadlineSettings
from resolvers.cache import CacheEngine, ResponseCache
from resolvers.fleet import FleetView
from resolvers.loaders import Loaders
from schema.context import Caller, GatewayContext


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
    callers: CallerRegistry
    deadline: DeadlineSettings
    clock: Callable[[], float]
    """Measures request deadlines (the one the upstreams' pipelines use)."""
    fallbacks: frozenset[str] = frozenset()
    engine: CacheEngine | None = None
    responses: ResponseCache | None = None
    fleet: FleetView | None = None

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
        return GatewayContext(
            loaders=Loaders.build(self.upstreams, cache),
            upstreams=self.upstreams,
            caller=caller,
            fallbacks=self.fallbacks,
            cache=engine,
            responses=self.responses,
            fleet=self.fleet,
        )

    async def getter(self, connection: HTTPConnection) -> GatewayContext:
        """Strawberry's context getter: 401 for a refused credential, 400 for a bad deadline."""
        try:
            caller = await self.callers.identify(connection.headers.get("authorization"))
        except UnknownCaller as refused:
            headers = {"WWW-Authenticate": refused.www_authenticate} if refused.status == 401 else None
            raise HTTPException(status_code=refused.status, detail=refused.reason, headers=headers) from None
        if connection.scope["type"] == "http":
            budget_s = self.budget_s(connection.headers.get(self.deadline.header))
            if budget_s is None:
                raise HTTPException(
                    status_code=400, detail=f"{self.deadline.header} must be a positive number of milliseconds"
                )
            self.begin(budget_s)
        return self.new(caller)
