"""Per-type counters: what the ``cacheStats`` query shows, counted into the metrics as they change.

The dataclass fields are the counters and nothing else (the fleet view adds them up field by field);
the instruments ride along as a plain attribute."""

from __future__ import annotations

from dataclasses import InitVar, dataclass

from clients.instruments import CacheTypeInstruments


@dataclass
class TypeStats:
    cache_type: InitVar[str]
    l1_hits: int = 0
    hits: int = 0  # store hits (L1 hits are counted apart)
    misses: int = 0
    coalesced: int = 0  # loads that joined another request's read or fetch of the same key
    stale: int = 0  # served past fresh: while revalidating, or on an upstream error
    errors: int = 0  # store calls that failed (the request went on without the cache)
    fenced: int = 0  # fetched values not stored: an invalidation overlapped their fetch

    def __post_init__(self, cache_type: str) -> None:
        self.metrics = CacheTypeInstruments(cache_type)

    def count_l1_hits(self, count: int) -> None:
        """A batch's L1 hits, counted once per batch, or a loop turn's answered at load time."""
        self.l1_hits += count
        self.metrics.lookup("l1_hit", count)

    def count_hits(self, count: int) -> None:
        """A batch's store hits, counted once per batch."""
        self.hits += count
        self.metrics.lookup("hit", count)

    def count_miss(self) -> None:
        self.misses += 1
        self.metrics.lookup("miss")

    def count_stale(self) -> None:
        self.stale += 1
        self.metrics.lookup("stale")

    def count_coalesced(self) -> None:
        self.coalesced += 1
        self.metrics.coalesced()

    def count_error(self) -> None:
        self.errors += 1
        self.metrics.store_error()


class CacheStats:
    def __init__(self, names: list[str]) -> None:
        self.by_type = {name: TypeStats(name) for name in names}

    def __getitem__(self, name: str) -> TypeStats:
        return self.by_type[name]
