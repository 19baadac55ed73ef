"""The cache engine as one request sees it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, TypeVar

from resolvers.cache.provenance import Provenance
from resolvers.cache.stale import StaleLog
from resolvers.cache.types import CacheType

if TYPE_CHECKING:
    from resolvers.cache.engine import CacheEngine, Fetch, Result

K = TypeVar("K")
V = TypeVar("V")


class RequestCache:
    """The engine as one request sees it: the request's stale log (and, when its answer may be
    stored whole, its provenance) travel with its loads."""

    __slots__ = ("engine", "provenance", "stale", "started")

    def __init__(self, engine: CacheEngine, provenance: Provenance | None = None) -> None:
        self.engine = engine
        self.stale = StaleLog()
        self.provenance = provenance
        self.started = engine.clock()
        """Values put by this request were fetched after this (cache clock): the fences' reference."""

    async def load(self, ctype: CacheType[K, V], keys: Sequence[K], fetch: Fetch[K]) -> list[Result]:
        return await self.engine.load_many(ctype, keys, fetch, self.stale, self.provenance)

    async def put(self, ctype: CacheType[K, V], items: Sequence[tuple[K, V]]) -> None:
        await self.engine.put_many(ctype, items, since=self.started)
