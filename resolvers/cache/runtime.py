"""The cache of one gateway process as a whole: engine, store and the subscriber that applies
other replicas' invalidations, started and closed with the app."""

from __future__ import annotations

from dataclasses import dataclass

from resolvers.cache.engine import CacheEngine
from resolvers.cache.pubsub import InvalidationListener
from resolvers.cache.redis_store import RedisStore
from resolvers.cache.store import CacheStore, StoreHealth


@dataclass
class CacheRuntime:
    engine: CacheEngine
    store: CacheStore
    listener: InvalidationListener | None = None
    redis_store: RedisStore | None = None

    @property
    def backend(self) -> str:
        return "redis" if self.redis_store is not None else "in-process"

    async def start(self) -> None:
        if self.listener is not None:
            self.listener.start()

    async def close(self) -> None:
        await self.engine.drain()
        if self.listener is not None:
            await self.listener.stop()
        if self.redis_store is not None:
            await self.redis_store.client.aclose()

    async def readiness(self) -> StoreHealth:
        """``ok`` or ``degraded``; probes Redis only when the last call failed (through its breaker)."""
        if self.store.health() == "ok":
            return "ok"
        return await self.store.ping()
