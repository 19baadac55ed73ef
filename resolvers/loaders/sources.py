"""What the gateway serves a read with: its cache type (``cache_type``) and its ``Source``, the
client, policy and cache type a request's loader of that read uses."""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from mypy_extensions import mypyc_attr

from clients.declaration import Read
from clients.policy import UpstreamPolicy
from clients.registry import registry
from resolvers.cache import CacheType
from resolvers.cache.types import key_part

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


def cache_type(read: Read[Any, K, V], *, upstream: str, vendor: str | None = None) -> CacheType[K, V]:
    """The cache type of ``read`` as served by ``vendor`` (``None``: the vendor named like the upstream)."""
    parts = read.key_parts
    return CacheType(
        name=read.name,
        upstream=upstream,
        codec=read.codec,
        key_id=lambda key: ":".join([key_part(part) for part in parts(key)]),
        entity=read.entity,
        tags=read.tags,
        links=read.links,
        vendor=vendor,
    )


def declared_cache_types() -> tuple[CacheType[Any, Any], ...]:
    """Every declared read's cache type, as the upstreams' default vendors serve them."""
    return tuple(
        cache_type(read, upstream=upstream.name) for upstream in registry().upstreams for read in upstream.reads
    )


@mypyc_attr(native_class=False)  # compiled, a generic dataclass must stay a Python class (mypyc/mypyc#827)
@dataclass(frozen=True, slots=True)
class Source(Generic[K, V]):
    """A read as this gateway serves it: the client that answers it, its policy and cache type."""

    read: Read[Any, K, V]
    client: Any
    policy: UpstreamPolicy
    ctype: CacheType[K, V]

    @property
    def max_batch_size(self) -> int | None:
        return None if self.read.batch == "fan_out" else self.policy.max_batch_size
