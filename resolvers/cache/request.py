"""The cache engine as one request sees it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from resolvers.cache.provenance import Provenance
from resolvers.cache.stale import StaleLog
from resolvers.cache.types import CacheType

if TYPE_CHECKING:
    from resolvers.cache.engine import CacheEngine, Fetch, Result
    from resolvers.cache.entry import Entry
    from resolvers.cache.l1 import L1Cache

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
        self._uncounted: list[FirstLevel] = []
        """The first levels with L1 hits answered at load time this loop turn, not counted yet."""
        self._l1 = engine.l1
        self._scopes = engine.scopes
        self._clock = engine.clock
        """The engine's, read once per request."""

    async def load(self, ctype: CacheType[K, V], keys: Sequence[K], fetch: Fetch[K]) -> list[Result]:
        return await self.engine.load_many(ctype, keys, fetch, self.stale, self.provenance)

    def first_level(self, ctype: CacheType[Any, Any]) -> FirstLevel | None:
        """``ctype``'s entries in the engine's first level as this request reads them key by key
        (``FirstLevel.fresh``), or ``None`` when the engine has no first level."""
        l1 = self._l1
        if l1 is None:
            return None
        return FirstLevel(self, l1, ctype, self._scopes.get(ctype.upstream, ""), self._clock)

    def count_later(self, level: FirstLevel) -> None:
        """``level``'s hits (``FirstLevel.uncounted``) counted at the end of this loop turn, with
        those of the request's other levels (a metric write costs more than the rest of a hit)."""
        uncounted = self._uncounted
        if not uncounted:
            asyncio.get_running_loop().call_soon(self._count_l1_hits)
        uncounted.append(level)

    def _count_l1_hits(self) -> None:
        uncounted = self._uncounted
        self._uncounted = []
        stats = self.engine.stats
        for level in uncounted:
            stats[level.name].count_l1_hits(level.uncounted)
            level.uncounted = 0

    async def put(self, ctype: CacheType[K, V], items: Sequence[tuple[K, V]]) -> None:
        await self.engine.put_many(ctype, items, since=self.started)


class FirstLevel:
    """One cache type's entries in the engine's first level, as one request reads them per key
    loaded (``fresh``): its credential scope, and the type's cache keys built for that scope, are
    looked up once per request, not per key."""

    __slots__ = ("_clock", "_ctype", "_known", "_l1", "_request", "_scope", "name", "uncounted")

    def __init__(
        self, request: RequestCache, l1: L1Cache, ctype: CacheType[Any, Any], scope: str, clock: Callable[[], float]
    ) -> None:
        self._request = request
        self._l1 = l1
        self._ctype = ctype
        self.name = ctype.name
        self.uncounted = 0
        """Hits served since the request last counted them (``RequestCache.count_later``)."""
        self._scope = scope
        self._known: dict[Any, str] = ctype.known_keys(scope)
        self._clock = clock

    def fresh(self, key: Any) -> Entry[Any] | None:
        """The fresh entry of ``key``, or ``None``: what ``load`` would find in the first level,
        not counted until it is served (``served``)."""
        cache_key = self._known.get(key)
        if cache_key is None:
            cache_key = self._ctype.keys((key,), self._scope)[0]
        return self._l1.get(cache_key, self._clock())

    def served(self, key: Any, entry: Entry[Any]) -> None:
        """``entry`` answered ``key`` at load time: recorded as ``load`` records an L1 hit (an L1
        entry is fresh: nothing for the stale log) and counted with the loop turn's other hits."""
        request = self._request
        provenance = request.provenance
        if provenance is not None:
            provenance.record(self._ctype.answer_tags(key, entry.value), entry.fresh_until)
        self.uncounted += 1
        if self.uncounted == 1:
            request.count_later(self)
