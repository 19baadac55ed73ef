"""The ``fleet`` query: every gateway process's reported state (``resolvers.fleet``), per instance
and summed. Without Redis the fleet is the answering process alone (``shared: false``)."""

from __future__ import annotations

from collections import Counter
from dataclasses import fields, replace
from typing import Any

import strawberry

from clients import health
from clients.resilience.breaker import BreakerState
from resolvers.cache import ResponseStats
from resolvers.cache.stats import TypeStats
from resolvers.fleet import InstanceReport
from schema.cache import CacheStats, cache_stats_from
from schema.health import UpstreamHealth


@strawberry.type(description="One gateway process (a replica's worker) as it last reported itself.")
class FleetInstance:
    instance: str = strawberry.field(description="`<replica>:<pid>`")
    seconds_ago: float = strawberry.field(description="since it last reported (0 for the process answering)")
    ready: bool
    upstreams: list[UpstreamHealth] = strawberry.field(graphql_type=list[UpstreamHealth])
    cache_stats: CacheStats


@strawberry.type(description="One upstream across the fleet.")
class FleetUpstream:
    name: str
    open: int = strawberry.field(description="processes whose breaker is open")
    half_open: int
    closed: int
    calls_in_window: int = strawberry.field(description="summed over the processes' breaker windows")
    in_flight: int
    shared_reads: int
    forced_by: str | None = strawberry.field(description="who forced its breaker's state for the fleet, if anyone")


@strawberry.type(description="Every gateway process that reported recently (through Redis), and their totals.")
class Fleet:
    answered_by: str = strawberry.field(description="the process answering this query")
    shared: bool = strawberry.field(description="false without Redis: the fleet is the answering process alone")
    instances: list[FleetInstance]
    upstreams: list[FleetUpstream]
    cache_stats: CacheStats = strawberry.field(description="every counter summed; the worst status")


def fleet_of(reports: list[InstanceReport], *, answered_by: str, shared: bool, now: float) -> Fleet:
    return Fleet(
        answered_by=answered_by,
        shared=shared,
        instances=[
            FleetInstance(
                instance=report.instance,
                seconds_ago=round(max(0.0, now - report.reported_at), 3),
                ready=report.ready,
                upstreams=[replace(row, instance=report.instance) for row in report.upstreams],  # type: ignore[misc]  # the record is read as UpstreamHealth
                cache_stats=cache_stats_from(report.cache, report.instance),
            )
            for report in reports
        ],
        upstreams=_upstream_totals(reports),
        cache_stats=cache_stats_from(_summed_cache(reports), "fleet"),
    )


def _upstream_totals(reports: list[InstanceReport]) -> list[FleetUpstream]:
    rows: dict[str, list[health.UpstreamHealth]] = {}
    for report in reports:
        for row in report.upstreams:
            rows.setdefault(row.name, []).append(row)
    totals = []
    for name, found in rows.items():
        states = Counter(row.state for row in found)
        totals.append(
            FleetUpstream(
                name=name,
                open=states[BreakerState.OPEN],
                half_open=states[BreakerState.HALF_OPEN],
                closed=states[BreakerState.CLOSED],
                calls_in_window=sum(row.calls_in_window for row in found),
                in_flight=sum(row.in_flight for row in found),
                shared_reads=sum(row.shared_reads for row in found),
                forced_by=next((row.forced_by for row in found if row.forced_by), None),
            )
        )
    return totals


_STATUS_ORDER = ("disabled", "ok", "degraded")
_TYPE_COUNTERS = tuple(counter.name for counter in fields(TypeStats))
_RESPONSE_COUNTERS = tuple(counter.name for counter in fields(ResponseStats))


def _summed_cache(reports: list[InstanceReport]) -> dict[str, Any]:
    caches = [report.cache for report in reports]
    types: dict[str, Counter[str]] = {}
    responses: Counter[str] = Counter()
    for cache in caches:
        for row in cache["types"]:
            types.setdefault(row["type"], Counter()).update({name: row[name] for name in _TYPE_COUNTERS})
        responses.update({name: cache["responses"][name] for name in _RESPONSE_COUNTERS})
    statuses = [str(cache["status"]) for cache in caches]
    return {
        "enabled": any(cache["enabled"] for cache in caches),
        "status": max(statuses, key=_STATUS_ORDER.index) if statuses else "disabled",
        "types": [{"type": name, **{key: counts[key] for key in _TYPE_COUNTERS}} for name, counts in types.items()],
        "responses": {
            "enabled": any(cache["responses"]["enabled"] for cache in caches),
            **{name: responses[name] for name in _RESPONSE_COUNTERS},
        },
    }
