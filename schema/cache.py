"""The cache as the schema sees it: stale marking of served values and the ``cacheStats`` query
(entity cache per type, and the response cache)."""

from __future__ import annotations

from typing import Any, TypeVar

import strawberry
from strawberry.extensions import SchemaExtension

from resolvers.fleet import cache_counters
from schema.common import GatewayInfo

T = TypeVar("T")


def served(info: GatewayInfo, value: T, *, index: int | None = None) -> T:
    """Hand a loaded value to the schema, marking this field's path (plus ``index`` for an item of
    a list field) when it came from a stale-if-error entry. Called where an entity is resolved,
    never per plain field."""
    cache = info.context.loaders.cache
    if cache is not None and value is not None:
        stale = cache.stale.lookup(value)
        if stale is not None:
            path = info.path.as_list()
            cache.stale.mark(tuple(path if index is None else [*path, index]), stale)
    return value


def stale_extensions(context: object) -> dict[str, Any]:
    """A response's ``extensions.stale``: ``[{path, upstream, ageSeconds}]`` for values served
    stale (empty when none were)."""
    loaders = getattr(context, "loaders", None)
    cache = getattr(loaders, "cache", None)
    if cache is None or not cache.stale.marks:
        return {}
    return {
        "stale": [
            {"path": list(mark.path), "upstream": mark.upstream, "ageSeconds": mark.age_s} for mark in cache.stale.marks
        ]
    }


class StaleMarks(SchemaExtension):
    """``stale_extensions`` for the operations Strawberry runs itself (over a WebSocket)."""

    def get_results(self) -> dict[str, Any]:
        return stale_extensions(self.execution_context.context)


@strawberry.type(description="Counters of one cached type since the gateway process started.")
class CacheTypeStats:
    type: str
    l1_hits: int
    hits: int = strawberry.field(description="shared-store hits")
    misses: int
    coalesced: int = strawberry.field(description="loads that joined a concurrent request's fetch of the key")
    stale: int = strawberry.field(description="served past fresh: while revalidating, or on an upstream error")
    errors: int = strawberry.field(description="cache store calls that failed (served from upstream instead)")
    fenced: int = strawberry.field(
        description="fetched values not stored: an invalidation (on any replica) overlapped their fetch"
    )


@strawberry.type(description="Counters of the response cache (whole query responses) since the process started.")
class ResponseCacheStats:
    enabled: bool
    hits: int = strawberry.field(description="served from the shared store")
    l1_hits: int = strawberry.field(description="served from this replica's in-process level")
    misses: int
    stores: int
    bypasses: int = strawberry.field(description="executed without a look-up: not a query, or a live field selected")
    skipped: int = strawberry.field(
        description="missed and not stored: errors, stale or fallback data, too large, no freshness left"
    )
    errors: int = strawberry.field(description="cache store calls that failed: a read is then a miss, a write is lost")
    fenced: int = strawberry.field(description="kept, then refused: an invalidation on another replica overlapped it")


@strawberry.type
class CacheStats:
    instance: str = strawberry.field(description="the process these counters are of (`<replica>:<pid>`), or `fleet`")
    enabled: bool
    status: str = strawberry.field(description="ok, degraded (the store is failing; upstreams serve) or disabled")
    types: list[CacheTypeStats]
    responses: ResponseCacheStats


def cache_stats_from(counters: dict[str, Any], instance: str) -> CacheStats:
    """The ``cacheStats`` shape of one process's counters (``resolvers.fleet.cache_counters``)."""
    return CacheStats(
        instance=instance,
        enabled=bool(counters["enabled"]),
        status=str(counters["status"]),
        types=[CacheTypeStats(**row) for row in counters["types"]],
        responses=ResponseCacheStats(**counters["responses"]),
    )


def cache_stats(info: GatewayInfo) -> CacheStats:
    context = info.context
    return cache_stats_from(cache_counters(context.cache, context.responses), context.instance)
