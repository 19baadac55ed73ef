"""``POST /admin/upstreams/{name}/force-open|force-close|release``: an operator holds an upstream's
circuit breaker open or closed (for the whole fleet when Redis is configured, else in this process),
or releases it. Needs the ``upstreams:admin`` scope; every action is logged with who asked."""

from __future__ import annotations

from typing import Literal

import structlog
from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel

from clients.resilience.breaker import BreakerState
from clients.resilience.breaker_board import BoardUnavailable, RedisBreakerBoard
from clients.upstreams import Upstreams
from mobius.admin_auth import require_scope
from mobius.callers import CallerRegistry

UPSTREAMS_ADMIN_SCOPE = "upstreams:admin"
FORCED_STATES: dict[str, BreakerState | None] = {
    "force-open": BreakerState.OPEN,
    "force-close": BreakerState.CLOSED,
    "release": None,
}

log = structlog.get_logger("mobius.audit")


class ForceResponse(BaseModel):
    upstream: str
    state: str
    forced_by: str | None
    fleet: bool
    """Whether every process of the fleet was told (Redis), or only this one."""


def upstreams_admin_router(upstreams: Upstreams, board: RedisBreakerBoard | None, callers: CallerRegistry) -> APIRouter:
    router = APIRouter()
    pipelines = {pipeline.upstream: pipeline for pipeline in upstreams.pipelines}

    @router.post("/admin/upstreams/{name}/{action}")
    async def force(
        name: str, action: Literal["force-open", "force-close", "release"], request: Request
    ) -> ForceResponse:
        caller = await require_scope(callers, request, UPSTREAMS_ADMIN_SCOPE)
        pipeline = pipelines.get(name)
        if pipeline is None:
            raise HTTPException(404, f"no upstream named {name!r}; known: {', '.join(sorted(pipelines))}")
        state = FORCED_STATES[action]
        log.warning("upstream_force_requested", upstream=name, action=action, by=caller.name, fleet=board is not None)
        if board is not None:
            try:
                await board.force(name, state, by=caller.name)
            except BoardUnavailable:
                raise HTTPException(503, "Redis is unavailable: the fleet was not told; nothing changed") from None
        pipeline.breaker.force(state, by=caller.name)
        breaker = pipeline.breaker
        return ForceResponse(
            upstream=name,
            state=breaker.state.value,
            forced_by=breaker.forced.by if breaker.forced is not None else None,
            fleet=board is not None,
        )

    return router
