"""The cache, in one package: the read-through engine behind the loaders, the response cache, the
stores (in-process and Redis, with the Redis store's breaker), the pub/sub that carries
invalidations between replicas, and the one invalidation entry point. ``mobius.cache_setup``
builds it from settings; ``mobius.cache_admin`` serves invalidation over HTTP."""

from resolvers.cache.cacheable import CacheableDocuments
from resolvers.cache.engine import CacheEngine
from resolvers.cache.engine_invalidation import LocalLevel, UnknownEntity
from resolvers.cache.invalidation import InvalidationRequest, invalidate
from resolvers.cache.memory import InProcessStore
from resolvers.cache.policy import CachePolicy, L1Policy, LockPolicy
from resolvers.cache.provenance import Provenance
from resolvers.cache.pubsub import InvalidationListener
from resolvers.cache.redis_store import RedisStore, store_breaker
from resolvers.cache.request import FirstLevel, RequestCache
from resolvers.cache.responses import ResponseCache, ResponsePolicy, ResponseStats
from resolvers.cache.runtime import CacheRuntime
from resolvers.cache.stale import StaleInfo, StaleLog, StaleMark
from resolvers.cache.store import CacheStore, CacheUnavailable, StoreHealth, StoreWrite
from resolvers.cache.types import CacheType

__all__ = [
    "CacheEngine",
    "CachePolicy",
    "CacheRuntime",
    "CacheStore",
    "CacheType",
    "CacheUnavailable",
    "CacheableDocuments",
    "FirstLevel",
    "InProcessStore",
    "InvalidationListener",
    "InvalidationRequest",
    "L1Policy",
    "LocalLevel",
    "LockPolicy",
    "Provenance",
    "RedisStore",
    "RequestCache",
    "ResponseCache",
    "ResponsePolicy",
    "ResponseStats",
    "StaleInfo",
    "StaleLog",
    "StaleMark",
    "StoreHealth",
    "StoreWrite",
    "UnknownEntity",
    "invalidate",
    "store_breaker",
]
