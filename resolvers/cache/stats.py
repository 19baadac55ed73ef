"""Per-type counters: what the ``cacheStats`` query shows and a metrics exporter can read."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class TypeStats:
    l1_hits: int = 0
    hits: int = 0  # store hits (L1 hits are counted apart)
    misses: int = 0
    coalesced: int = 0  # loads that joined another request's read or fetch of the same key
    stale: int = 0  # served past fresh: while revalidating, or on an upstream error
    errors: int = 0  # store calls that failed (the request went on without the cache)
    fenced: int = 0  # fetched values not stored: an invalidation overlapped their fetch


class CacheStats:
    def __init__(self, names: list[str]) -> None:
        self.by_type = {name: TypeStats() for name in names}

    def __getitem__(self, name: str) -> TypeStats:
        return self.by_type[name]
