"""Every read of the configured upstreams with its source (``Reads``, built once per gateway),
and the loaders of a request made from them."""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any, TypeVar

from clients.declaration import Read
from clients.upstreams import Upstreams
from resolvers.cache import CacheType, RequestCache
from resolvers.loaders.request import Loaders
from resolvers.loaders.sources import Source, cache_type

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Reads:
    """Every read of the configured upstreams with its source; built once per gateway."""

    def __init__(self, upstreams: Upstreams) -> None:
        self.upstreams = upstreams
        self._sources: dict[Read[Any, Any, Any], Source[Any, Any]] = {}
        self._primed_by: dict[Read[Any, Any, Any], tuple[Read[Any, Any, Any], ...]] = {}
        """By read: the reads whose values prime it (the members page, for users)."""
        for connected in upstreams.connected:
            name, vendor = connected.upstream.name, connected.vendor.name
            for read in connected.upstream.reads:
                client, policy = upstreams.serving(read)
                ctype = cache_type(read, upstream=name, vendor=None if vendor == name else vendor)
                self._sources[read] = Source(read, client, policy, ctype)
                for prime in read.primes:
                    self._primed_by[prime.read] = (*self._primed_by.get(prime.read, ()), read)

    @property
    def cache_types(self) -> tuple[CacheType[Any, Any], ...]:
        return tuple(source.ctype for source in self._sources.values())

    def source(self, read: Read[Any, K, V]) -> Source[K, V]:
        return self._sources[read]

    def primed_by(self, read: Read[Any, Any, Any]) -> tuple[Read[Any, Any, Any], ...]:
        """The reads whose values prime ``read``."""
        return self._primed_by.get(read, ())

    def max_batch_size(self, read: Read[Any, Any, Any]) -> int | None:
        """Keys per upstream request of ``read`` (``None``: one request per key, or not served here)."""
        source = self._sources.get(read)
        return source.max_batch_size if source is not None else None

    def loaders(self, cache: RequestCache | None = None) -> Loaders:
        """A request's loaders; ``cache`` is ``engine.request()`` of the gateway's ``CacheEngine``, or ``None``."""
        return Loaders(self, cache)
