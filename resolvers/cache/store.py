"""The shared store behind the engine: in-process (embedded default) or Redis."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from resolvers.cache.types import Links, Tags

StoreHealth = Literal["ok", "degraded"]


class CacheUnavailable(Exception):
    """The store did not answer in time or at all. The engine treats it as a miss, never as an error."""


@dataclass(frozen=True, slots=True)
class StoreWrite:
    key: str
    data: bytes
    ttl_s: float  # safety-net expiry: past every window of the entry
    tags: Tags = ()
    links: Links = ()
    since: float | None = None
    """When the fetch behind the value started (cache clock, less the allowed clock skew): the write
    is refused if an invalidation of its key, one of its tags or everything was fenced at or after
    it, on any replica. ``None`` writes unconditionally."""


class CacheStore(Protocol):
    """Keys are logical (``c:...``); a store adds its own prefix. Every method may raise
    ``CacheUnavailable``."""

    async def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        """One round trip for all keys (``MGET``); ``None`` where there is no entry."""

    async def set_many(self, writes: Sequence[StoreWrite]) -> set[str]:
        """Store the writes (a pipeline of ``SET`` and tag updates), except those an invalidation
        fenced (see ``StoreWrite.since``); return the keys refused."""

    async def invalidate(self, keys: Sequence[str], tags: Sequence[str], *, at: float, fence_s: float) -> list[str]:
        """Fence the keys and tags (writes of values fetched before ``at`` are refused for
        ``fence_s``), then delete the keys and every entry under the tags (following links); return
        what was deleted, and tell other replicas to evict it from their L1."""

    async def clear(self, *, at: float, fence_s: float) -> int:
        """Fence everything, then delete every cache entry of this gateway (its prefix only); return how many."""

    async def try_lock(self, keys: Sequence[str], ttl_s: float) -> set[str]:
        """Take short per-key locks against cross-replica stampedes; return the keys now held."""

    async def unlock(self, keys: Sequence[str]) -> None: ...

    async def ping(self) -> StoreHealth: ...

    def health(self) -> StoreHealth: ...
