"""Read-through caching for the loaders: the engine, its store protocol and what is cached."""

from resolvers.cache.engine import CacheEngine, LocalLevel, RequestCache, UnknownEntity
from resolvers.cache.policy import CachePolicy, L1Policy, LockPolicy
from resolvers.cache.provenance import Provenance
from resolvers.cache.stale import StaleInfo, StaleLog, StaleMark
from resolvers.cache.store import CacheStore, CacheUnavailable, StoreHealth, StoreWrite
from resolvers.cache.types import CacheType

__all__ = [
    "CacheEngine",
    "CachePolicy",
    "CacheStore",
    "CacheType",
    "CacheUnavailable",
    "L1Policy",
    "LocalLevel",
    "LockPolicy",
    "Provenance",
    "RequestCache",
    "StaleInfo",
    "StaleLog",
    "StaleMark",
    "StoreHealth",
    "StoreWrite",
    "UnknownEntity",
]
