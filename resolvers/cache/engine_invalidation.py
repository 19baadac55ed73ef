"""The engine's invalidation half: dropping entities and tags here, in the shared store and (through
the store's pub/sub) in other replicas' in-process levels -- the L1 and any level added beside it
(the response cache). ``CacheEngine`` is the one class that uses it."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, Protocol

import structlog

from resolvers.cache.l1 import L1Cache
from resolvers.cache.policy import CachePolicy
from resolvers.cache.store import CacheStore
from resolvers.cache.types import CacheType, key_part, parse_entity

log = structlog.get_logger("mobius.cache")


class UnknownEntity(ValueError):
    """An invalidation named an entity type that no cached type is keyed by."""


class LocalLevel(Protocol):
    """An in-process cache level evicted together with the engine's L1."""

    def evict(self, keys: Sequence[str], tags: Sequence[str]) -> None: ...

    def clear(self) -> None: ...


class EngineInvalidation:
    """What ``CacheEngine`` sets up in its constructor and this half reads."""

    store: CacheStore
    policy: CachePolicy
    scopes: dict[str, str]
    clock: Callable[[], float]
    l1: L1Cache | None
    _entities: dict[str, list[CacheType[Any, Any]]]
    _local_levels: list[LocalLevel]

    @property
    def entities(self) -> tuple[str, ...]:
        return tuple(sorted(self._entities))

    def add_local_level(self, level: LocalLevel) -> None:
        """Another in-process level (the response cache) to evict with the L1: on invalidations made
        here and on those other replicas publish."""
        self._local_levels.append(level)

    def entity_keys(self, ref: str) -> list[str]:
        entity, entity_id = parse_entity(ref)
        types = self._entities.get(entity)
        if not types:
            raise UnknownEntity(f"no cached type is keyed by {entity!r}; known: {', '.join(self.entities)}")
        return [t.key_for_id(key_part(entity_id), self.scopes.get(t.upstream, "")) for t in types]

    async def invalidate(self, *, entities: Sequence[str] = (), tags: Sequence[str] = ()) -> int:
        """Drop entities (``User:u-42``: the entry and the lists that embed it) and tags
        (``org:org-1``: everything of org-1) here, in the shared store and in other replicas' L1.
        Raises ``CacheUnavailable`` when the shared store cannot be reached."""
        keys = [key for ref in entities for key in self.entity_keys(ref)]
        all_tags = [*tags, *entities]
        self.evict_local(keys, all_tags)
        deleted = await self.store.invalidate(keys, all_tags, at=self.clock(), fence_s=self.policy.fence_s)
        self.evict_local(deleted, ())
        log.info("cache_invalidated", entities=list(entities), tags=list(tags), deleted=len(deleted))
        return len(deleted)

    async def invalidate_all(self) -> int:
        """Drop every entry of this gateway (its key prefix only), everywhere."""
        self.clear_local()
        deleted = await self.store.clear(at=self.clock(), fence_s=self.policy.fence_s)
        log.info("cache_cleared", deleted=deleted)
        return deleted

    def evict_local(self, keys: Iterable[str], tags: Iterable[str]) -> None:
        keys, tags = list(keys), list(tags)
        if self.l1 is not None:
            self.l1.evict(keys, tags)
        for level in self._local_levels:
            level.evict(keys, tags)

    def clear_local(self) -> None:
        if self.l1 is not None:
            self.l1.clear()
        for level in self._local_levels:
            level.clear()
