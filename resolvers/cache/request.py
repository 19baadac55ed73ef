"""The cache engine as one request sees it."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from resolvers.cache.provenance import Provenance
from resolvers.cache.stale import StaleLog
from resolvers.cache.types import CacheType

if TYPE_CHECKING:
    from resolvers.cache.engine import CacheEngine, Fetch, Result
    from resolvers.cache.entry import Entry

K = TypeVar("K")
V = TypeVar("V")


class RequestCache:
    """The engine as one request sees it: the request's stale log (and, when its answer may be
    stored whole, its provenance) travel with its loads."""

    __slots__ = ("_clock", "_l1", "_scopes", "_uncounted", "engine", "provenance", "stale", "started")

    def __init__(self, engine: CacheEngine, provenance: Provenance | None = None) -> None:
        self.engine = engine
        self.stale = StaleLog()
        self.provenance = provenance
        self.started = engine.clock()
        """Values put by this request were fetched after this (cache clock): the fences' reference."""
        self._uncounted: dict[str, int] = {}
        """By cache type: L1 hits answered at load time this loop turn, not counted yet."""
        self._l1 = engine.l1
        self._scopes = engine.scopes
        self._clock = engine.clock
        """The engine's, read once per request: ``fresh_in_l1`` runs per key loaded."""

    async def load(self, ctype: CacheType[K, V], keys: Sequence[K], fetch: Fetch[K]) -> list[Result]:
        return await self.engine.load_many(ctype, keys, fetch, self.stale, self.provenance)

    def fresh_in_l1(self, ctype: CacheType[K, V], key: K) -> Entry[Any] | None:
        """The fresh entry of ``key`` in the engine's first level, or ``None``: what ``load`` would
        find there, not counted until it is served (``served_from_l1``)."""
        l1 = self._l1
        if l1 is None:
            return None
        return l1.get(ctype.keys((key,), self._scopes.get(ctype.upstream, ""))[0], self._clock())

    def served_from_l1(self, ctype: CacheType[K, V], key: K, entry: Entry[Any]) -> None:
        """``entry`` answered ``key`` at load time: recorded as ``load`` records an L1 hit (an L1
        entry is fresh: nothing for the stale log) and counted with the request's other hits of
        this loop turn at its end (a metric write costs more than the rest of a hit)."""
        provenance = self.provenance
        if provenance is not None:
            provenance.record(ctype.answer_tags(key, entry.value), entry.fresh_until)
        uncounted = self._uncounted
        if not uncounted:
            asyncio.get_running_loop().call_soon(self._count_l1_hits)
        uncounted[ctype.name] = uncounted.get(ctype.name, 0) + 1

    def _count_l1_hits(self) -> None:
        uncounted = self._uncounted
        self._uncounted = {}
        stats = self.engine.stats
        for name, count in uncounted.items():
            stats[name].count_l1_hits(count)

    async def put(self, ctype: CacheType[K, V], items: Sequence[tuple[K, V]]) -> None:
        await self.engine.put_many(ctype, items, since=self.started)
