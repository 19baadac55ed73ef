"""The fleet view: every gateway process (replica and worker) reports its operational state to Redis
periodically, and any of them can read back all reports.

A report is this process's ``upstreams`` rows, cache counters and readiness as JSON, written to
``<prefix>{fleet}:i:<instance>`` with a TTL of three report periods and indexed in the sorted set
``<prefix>{fleet}:index`` by report time: a process that stops reporting drops out of the view
when its key expires (the index is pruned as it is read). The keys share one hash slot. Without
Redis the fleet is this process alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, Protocol

import orjson
import structlog
from redis.exceptions import RedisError

from clients.health import RecentTransition, UpstreamHealth
from clients.redis_client import RedisClient, get_many, raise_consumed_cancel
from clients.resilience.breaker import BreakerState
from resolvers.cache import CacheEngine, ResponseCache, ResponseStats

log = structlog.get_logger("mobius.fleet")

_KEYS = "{fleet}"


def instance_id(name: str | None) -> str:
    """``<name or host name>:<pid>``: the replica and the worker process within it."""
    return f"{name or socket.gethostname()}:{os.getpid()}"


@dataclass(frozen=True, slots=True)
class InstanceReport:
    """One process's state as it last reported it."""

    instance: str
    reported_at: float
    """Wall-clock seconds."""
    ready: bool
    upstreams: tuple[UpstreamHealth, ...]
    cache: dict[str, Any]
    """The ``cacheStats`` counters: ``{enabled, status, types: [...], responses: {...}}``."""


def encode_report(report: InstanceReport) -> bytes:
    return orjson.dumps(asdict(report))


def decode_report(raw: bytes) -> InstanceReport | None:
    try:
        fields = orjson.loads(raw)
        rows = tuple(
            UpstreamHealth(
                **{
                    **row,
                    "state": BreakerState(row["state"]),
                    "transitions": tuple(
                        RecentTransition(
                            BreakerState(t["from_state"]), BreakerState(t["to_state"]), t["reason"], t["seconds_ago"]
                        )
                        for t in row["transitions"]
                    ),
                }
            )
            for row in fields["upstreams"]
        )
        return InstanceReport(
            instance=str(fields["instance"]),
            reported_at=float(fields["reported_at"]),
            ready=bool(fields["ready"]),
            upstreams=rows,
            cache=dict(fields["cache"]),
        )
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
        return None


def cache_counters(engine: CacheEngine | None, responses: ResponseCache | None) -> dict[str, Any]:
    """The ``cacheStats`` counters of this process, as plain data (the same shape for every instance)."""
    response_counters = (
        {"enabled": True, **asdict(responses.stats)}
        if responses is not None
        else {"enabled": False, **asdict(ResponseStats())}
    )
    if engine is None:
        return {"enabled": False, "status": "disabled", "types": [], "responses": response_counters}
    return {
        "enabled": True,
        "status": engine.health(),
        "types": [{"type": name, **asdict(stats)} for name, stats in engine.stats.by_type.items()],
        "responses": response_counters,
    }


class FleetView(Protocol):
    """What the schema and the readiness endpoint read."""

    @property
    def instance(self) -> str: ...

    @property
    def shared(self) -> bool:
        """Whether other processes' reports can be read (Redis)."""

    async def reports(self) -> list[InstanceReport]:
        """This process first (reported now), then every other that reported recently."""


class LocalFleet:
    """Without Redis: the fleet is this process."""

    def __init__(self, instance: str, report: Callable[[], InstanceReport]) -> None:
        self._instance = instance
        self._report = report

    @property
    def instance(self) -> str:
        return self._instance

    @property
    def shared(self) -> bool:
        return False

    async def reports(self) -> list[InstanceReport]:
        return [self._report()]


class RedisFleet:
    """Publishes this process's report every ``report_s`` and reads everybody's."""

    def __init__(
        self,
        client: RedisClient,
        *,
        prefix: str,
        instance: str,
        report: Callable[[], InstanceReport],
        report_s: float,
        op_timeout_s: float = 0.5,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.client = client
        self._instance = instance
        self._report = report
        self.report_s = report_s
        self.ttl_s = 3 * report_s
        self.op_timeout_s = op_timeout_s
        self.wall = wall
        self._index = f"{prefix}{_KEYS}:index"
        self._prefix = f"{prefix}{_KEYS}:i:"
        self._task: asyncio.Task[None] | None = None

    @property
    def instance(self) -> str:
        return self._instance

    @property
    def shared(self) -> bool:
        return True

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        with contextlib.suppress(RedisError, OSError, TimeoutError):
            async with asyncio.timeout(self.op_timeout_s):
                await self.client.delete(self._prefix + self._instance)
                await self.client.zrem(self._index, self._instance)

    async def _run(self) -> None:
        while True:
            try:
                await self.publish()
            except (RedisError, OSError, TimeoutError) as exc:
                log.info("fleet_report_failed", error_type=type(exc).__name__)
            raise_consumed_cancel()
            await asyncio.sleep(self.report_s)

    async def publish(self) -> None:
        report = self._report()
        async with asyncio.timeout(self.op_timeout_s):
            pipe = self.client.pipeline(transaction=False)
            pipe.set(self._prefix + report.instance, encode_report(report), px=int(self.ttl_s * 1000))
            pipe.zadd(self._index, {report.instance: report.reported_at})
            await pipe.execute()

    async def reports(self) -> list[InstanceReport]:
        own = self._report()
        try:
            async with asyncio.timeout(self.op_timeout_s):
                others = await self._others()
        except (RedisError, OSError, TimeoutError) as exc:
            log.info("fleet_read_failed", error_type=type(exc).__name__)
            others = []
        return [own, *(report for report in others if report.instance != own.instance)]

    async def _others(self) -> list[InstanceReport]:
        oldest = self.wall() - self.ttl_s
        await self.client.zremrangebyscore(self._index, "-inf", oldest)
        names: list[Any] = await self.client.zrangebyscore(self._index, oldest, "+inf")
        instances = [name.decode() if isinstance(name, bytes) else name for name in names]
        raw = await get_many(self.client, [self._prefix + name for name in instances])
        reports = [decode_report(value) for value in raw if value is not None]
        return sorted((report for report in reports if report is not None), key=lambda report: report.instance)
