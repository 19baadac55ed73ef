"""Caching: the read-through engine behind the loaders, the response cache, their store protocol and what is cached."""

from resolvers.cache.engine import CacheEngine, LocalLevel, UnknownEntity
from resolvers.cache.policy import CachePolicy, L1Policy, LockPolicy
from resolvers.cache.provenance import Provenance
from resolvers.cache.request import RequestCache
from resolvers.cache.responses import ResponseCache, ResponsePolicy, ResponseStats
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
    "ResponseCache",
    "ResponsePolicy",
    "ResponseStats",
    "StaleInfo",
    "StaleLog",
    "StaleMark",
    "StoreHealth",
    "StoreWrite",
    "UnknownEntity",
]
