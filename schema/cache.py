"""The cache as the schema sees it: stale marking of served values and the ``cacheStats`` query
(entity cache per type, and the response cache)."""

from __future__ import annotations

from typing import Any, TypeVar

import strawberry
from strawberry.extensions import SchemaExtension

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


@strawberry.type(description="Counters of one cached type since the gateway started.")
class CacheTypeStats:
    type: str
    l1_hits: int
    hits: int = strawberry.field(description="shared-store hits")
    misses: int
    coalesced: int = strawberry.field(description="loads that joined a concurrent request's fetch of the key")
    stale: int = strawberry.field(description="served past fresh: while revalidating, or on an upstream error")
    errors: int = strawberry.field(description="cache store calls that failed (served from upstream instead)")


@strawberry.type(description="Counters of the response cache (whole query responses) since the gateway started.")
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


@strawberry.type
class CacheStats:
    enabled: bool
    status: str = strawberry.field(description="ok, degraded (the store is failing; upstreams serve) or disabled")
    types: list[CacheTypeStats]
    responses: ResponseCacheStats


def response_cache_stats(info: GatewayInfo) -> ResponseCacheStats:
    responses = info.context.responses
    if responses is None:
        return ResponseCacheStats(enabled=False, hits=0, l1_hits=0, misses=0, stores=0, bypasses=0, skipped=0, errors=0)
    counts = responses.stats
    return ResponseCacheStats(
        enabled=True,
        hits=counts.hits,
        l1_hits=counts.l1_hits,
        misses=counts.misses,
        stores=counts.stores,
        bypasses=counts.bypasses,
        skipped=counts.skipped,
        errors=counts.errors,
    )


def cache_stats(info: GatewayInfo) -> CacheStats:
    engine = info.context.cache
    if engine is None:
        return CacheStats(enabled=False, status="disabled", types=[], responses=response_cache_stats(info))
    return CacheStats(
        enabled=True,
        status=engine.health(),
        responses=response_cache_stats(info),
        types=[
            CacheTypeStats(
                type=name,
                l1_hits=s.l1_hits,
                hits=s.hits,
                misses=s.misses,
                coalesced=s.coalesced,
                stale=s.stale,
                errors=s.errors,
            )
            for name, s in engine.stats.by_type.items()
        ],
    )
