"""Batch-function helpers that honour the DataLoader contract: one result per key, in key
order; ``None`` for not found; an exception instance for a key that failed."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable, Mapping, Sequence
from typing import Any, TypeVar

from clients.errors import UpstreamError
from resolvers.cache import CacheType, RequestCache

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


async def load_by_keys(
    keys: Sequence[K], fetch: Callable[[Sequence[K]], Awaitable[Mapping[K, V]]]
) -> list[V | UpstreamError | None]:
    """One batch request for all keys; keys absent from the answer resolve to ``None``."""
    try:
        found = await fetch(keys)
    except UpstreamError as exc:
        return [exc for _ in keys]
    return [found.get(key) for key in keys]


async def fan_out(keys: Sequence[K], fetch_one: Callable[[K], Awaitable[V]], *, limit: int) -> list[V | UpstreamError]:
    """One request per key for upstreams without a batch endpoint, at most ``limit`` at once."""
    if len(keys) == 1:
        return [await _settle(fetch_one(keys[0]))]
    gate = asyncio.Semaphore(limit)

    async def one(key: K) -> V | UpstreamError:
        async with gate:
            return await _settle(fetch_one(key))

    return list(await asyncio.gather(*(one(key) for key in keys)))


async def _settle(call: Awaitable[V]) -> V | UpstreamError:
    try:
        return await call
    except UpstreamError as exc:
        return exc


async def cached(
    cache: RequestCache | None,
    ctype: CacheType[K, V],
    keys: Sequence[K],
    fetch: Callable[[Sequence[K]], Awaitable[Sequence[Any]]],
) -> list[Any]:
    """The one place a loader batch meets the cache: cached keys are answered from it, only the
    misses reach ``fetch`` (one upstream batch). Without a cache, ``fetch`` answers every key."""
    if cache is None:
        return list(await fetch(keys))
    return await cache.load(ctype, keys, fetch)
