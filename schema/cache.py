"""The cache as the schema sees it: stale marking of served values and the ``cacheStats`` query."""

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


class StaleMarks(SchemaExtension):
    """Adds ``extensions.stale``: ``[{path, upstream, ageSeconds}]`` for values served stale."""

    def get_results(self) -> dict[str, Any]:
        context = self.execution_context.context
        loaders = getattr(context, "loaders", None)
        cache = getattr(loaders, "cache", None)
        if cache is None or not cache.stale.marks:
            return {}
        return {
            "stale": [
                {"path": list(mark.path), "upstream": mark.upstream, "ageSeconds": mark.age_s}
                for mark in cache.stale.marks
            ]
        }


@strawberry.type(description="Counters of one cached type since the gateway started.")
class CacheTypeStats:
    type: str
    l1_hits: int
    hits: int = strawberry.field(description="shared-store hits")
    misses: int
    coalesced: int = strawberry.field(description="loads that joined a concurrent request's fetch of the key")
    stale: int = strawberry.field(description="served past fresh: while revalidating, or on an upstream error")
    errors: int = strawberry.field(description="cache store calls that failed (served from upstream instead)")


@strawberry.type
class CacheStats:
    enabled: bool
    status: str = strawberry.field(description="ok, degraded (the store is failing; upstreams serve) or disabled")
    types: list[CacheTypeStats]


def cache_stats(info: GatewayInfo) -> CacheStats:
    engine = info.context.cache
    if engine is None:
        return CacheStats(enabled=False, status="disabled", types=[])
    return CacheStats(
        enabled=True,
        status=engine.health(),
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
