"""The gateway's operational side as one process sees it: its instance id, the board its upstreams'
breakers share with the fleet, the fleet view, and health (``/health/live``, ``/health/ready``)."""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from clients.resilience.breaker_board import RedisBreakerBoard
from clients.upstreams import Upstreams
from mobius.readiness import Readiness
from mobius.redis import RedisTarget, create_redis, create_subscriber
from mobius.settings import Settings
from resolvers.cache import CacheRuntime, ResponseCache
from resolvers.fleet import InstanceReport, LocalFleet, RedisFleet, cache_counters, instance_id


@dataclass
class Operations:
    instance: str
    fleet: LocalFleet | RedisFleet
    board: RedisBreakerBoard | None = None

    async def start(self) -> None:
        if self.board is not None:
            await self.board.start()
        if isinstance(self.fleet, RedisFleet):
            await self.fleet.start()

    async def close(self) -> None:
        if isinstance(self.fleet, RedisFleet):
            await self.fleet.stop()
            await self.fleet.client.aclose()
        if self.board is not None:
            await self.board.stop()


def build_operations(
    settings: Settings,
    target: RedisTarget | None,
    upstreams: Upstreams,
    cache: CacheRuntime | None,
    responses: ResponseCache | None,
) -> Operations:
    """With Redis, the upstreams' breakers join the fleet's board and this process reports to the fleet view."""
    instance = instance_id(settings.instance.name)
    engine = cache.engine if cache is not None else None

    def report() -> InstanceReport:
        return InstanceReport(
            instance=instance,
            reported_at=time.time(),
            ready=all(transport.started for transport in upstreams.transports),
            upstreams=tuple(replace(row, instance=instance) for row in upstreams.health()),
            cache=cache_counters(engine, responses),
        )

    if target is None:
        return Operations(instance=instance, fleet=LocalFleet(instance, report))
    redis = settings.redis
    board = RedisBreakerBoard(
        create_redis(target),
        create_subscriber(target),
        prefix=redis.key_prefix,
        instance=instance,
        op_timeout_s=redis.connect_timeout_s + redis.socket_timeout_s,
    )
    for pipeline in upstreams.pipelines:
        pipeline.join_fleet(board)
    fleet = RedisFleet(
        create_redis(target),
        prefix=redis.key_prefix,
        instance=instance,
        report=report,
        report_s=settings.instance.report_s,
    )
    return Operations(instance=instance, fleet=fleet, board=board)


async def readiness(
    operations: Operations, upstreams: Upstreams, cache: CacheRuntime | None, problems: Readiness
) -> dict[str, Any]:
    """``/health/ready``'s body: this process's readiness, named by its instance id. Not ready until
    every upstream client started, nor while a configured secret (or the trusted documents'
    manifest) cannot be read: ``problems`` then says which, and why."""
    started = {transport.name: transport.started for transport in upstreams.transports}
    circuits = {transport.name: transport.pipeline.breaker.state.value for transport in upstreams.transports}
    unreadable = problems.problems()
    body: dict[str, Any] = {
        "status": "starting" if not all(started.values()) else "misconfigured" if unreadable else "ready",
        "instance": operations.instance,
        "upstreams": started,
        "circuits": circuits,
    }
    if unreadable:
        body["problems"] = unreadable
    if cache is not None:  # a degraded cache still serves (from upstreams): readiness stays 200
        body["cache"] = {"status": await cache.readiness(), "backend": cache.backend}
    return body


async def fleet_readiness(operations: Operations) -> list[dict[str, Any]]:
    """Every process's readiness as it last reported it (``/health/ready?fleet=true``)."""
    now = time.time()
    return [
        {
            "instance": report.instance,
            "secondsAgo": round(max(0.0, now - report.reported_at), 3),
            "status": "ready" if report.ready else "starting",
            "circuits": {row.name: row.state.value for row in report.upstreams},
            "cache": report.cache["status"],
        }
        for report in await operations.fleet.reports()
    ]


def health_router(
    operations: Operations, upstreams: Upstreams, cache: CacheRuntime | None, problems: Readiness
) -> APIRouter:
    router = APIRouter()

    @router.get("/health/live")
    async def live() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/health/ready")
    async def ready(fleet: bool = False) -> JSONResponse:
        body = await readiness(operations, upstreams, cache, problems)
        if fleet:
            body["fleet"] = await fleet_readiness(operations)
        return JSONResponse(body, status_code=200 if body["status"] == "ready" else 503)

    return router
