"""The embedded store: the shared level when no Redis is configured (one process, so no pub/sub).
Fences work as in Redis (``resolvers.cache.redis_store``): a write of a value fetched before an
invalidation of its key, one of its tags or everything is refused while the fence lasts."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from resolvers.cache.store import StoreHealth, StoreWrite

_MAX_TAG_DEPTH = 4


class InProcessStore:
    """Bounded by ``max_entries`` (oldest written first out); expiry is the writes' safety-net TTL."""

    def __init__(self, *, max_entries: int = 100_000, clock: Callable[[], float] = time.time) -> None:
        self.max_entries = max_entries
        self.clock = clock
        self._entries: dict[str, tuple[bytes, float]] = {}
        self._entry_tags: dict[str, tuple[str, ...]] = {}
        self._tags: dict[str, set[str]] = {}
        self._links: dict[str, set[str]] = {}
        self._locks: dict[str, float] = {}
        self._fences: dict[str, tuple[float, float]] = {}  # key, "t:<tag>" or "all" -> (fenced at, until)

    def __len__(self) -> int:
        return len(self._entries)

    async def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        now = self.clock()
        found: list[bytes | None] = []
        for key in keys:
            stored = self._entries.get(key)
            if stored is not None and now >= stored[1]:
                self._forget(key)
                stored = None
            found.append(None if stored is None else stored[0])
        return found

    async def set_many(self, writes: Sequence[StoreWrite]) -> set[str]:
        now = self.clock()
        refused = set()
        for write in writes:
            if write.since is not None and self._fenced(write, write.since, now):
                refused.add(write.key)
                continue
            self._forget(write.key)
            self._entries[write.key] = (write.data, now + write.ttl_s)
            self._entry_tags[write.key] = write.tags
            for tag in write.tags:
                self._tags.setdefault(tag, set()).add(write.key)
            for parent, child in write.links:
                self._links.setdefault(parent, set()).add(child)
        while len(self._entries) > self.max_entries:
            self._forget(next(iter(self._entries)))
        return refused

    def _fenced(self, write: StoreWrite, since: float, now: float) -> bool:
        names = ("all", write.key, *(f"t:{tag}" for tag in write.tags))
        return any(self._fence_at(name, now) >= since for name in names)

    def _fence_at(self, name: str, now: float) -> float:
        fence = self._fences.get(name)
        if fence is None:
            return float("-inf")
        if now >= fence[1]:
            del self._fences[name]
            return float("-inf")
        return fence[0]

    def _fence(self, names: Sequence[str], at: float, fence_s: float) -> None:
        now = self.clock()
        if len(self._fences) > self.max_entries:
            self._fences = {name: fence for name, fence in self._fences.items() if fence[1] > now}
        for name in names:
            self._fences[name] = (at, now + fence_s)

    def _forget(self, key: str) -> bool:
        """Remove an entry and its tag memberships (so tag sets never outgrow the entries)."""
        if self._entries.pop(key, None) is None:
            return False
        for tag in self._entry_tags.pop(key, ()):
            members = self._tags.get(tag)
            if members is not None:
                members.discard(key)
                if not members:
                    del self._tags[tag]
        return True

    async def invalidate(self, keys: Sequence[str], tags: Sequence[str], *, at: float, fence_s: float) -> list[str]:
        doomed = set(keys)
        expanded = self._expand(tags)
        self._fence([*keys, *(f"t:{tag}" for tag in expanded)], at, fence_s)
        for tag in expanded:
            doomed |= self._tags.get(tag, set())
        return [key for key in sorted(doomed) if self._forget(key)]

    def _expand(self, tags: Sequence[str]) -> set[str]:
        seen = set(tags)
        frontier = set(tags)
        for _ in range(_MAX_TAG_DEPTH):
            frontier = {child for tag in frontier for child in self._links.pop(tag, set())} - seen
            seen |= frontier
        return seen

    async def clear(self, *, at: float, fence_s: float) -> int:
        count = len(self._entries)
        self._fence(["all"], at, fence_s)
        self._entries.clear()
        self._entry_tags.clear()
        self._tags.clear()
        self._links.clear()
        self._locks.clear()
        return count

    async def try_lock(self, keys: Sequence[str], ttl_s: float) -> set[str]:
        now = self.clock()
        held = set()
        for key in keys:
            if self._locks.get(key, 0.0) <= now:
                self._locks[key] = now + ttl_s
                held.add(key)
        return held

    async def unlock(self, keys: Sequence[str]) -> None:
        for key in keys:
            self._locks.pop(key, None)

    async def ping(self) -> StoreHealth:
        return "ok"

    def health(self) -> StoreHealth:
        return "ok"
