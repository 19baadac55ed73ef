"""How a read answers a batch of keys: by one request for all of them (``by_ids``, ``merged``) or
one request per key (``fan_out``). Each wraps a client's method into the read's ``fetch`` under the
DataLoader contract (one answer per key, in key order; an upstream error is each key's answer).

Compiled: a fetch is a coroutine layer of every upstream call, resumed at each of the call's waits.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable, Mapping, Sequence
from typing import TypeVar

from clients.errors import UpstreamError
from clients.fetched import Answer, Fetched
from clients.policy import UpstreamPolicy

C = TypeVar("C")
K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


def by_ids(
    fetch_many: Callable[[C, Sequence[K]], Awaitable[Mapping[K, V]]],
) -> Callable[[C, Sequence[K], UpstreamPolicy], Awaitable[Fetched[K]]]:
    """A batch endpoint (``?ids=a,b,c``): one request for all keys; keys it leaves out are not found."""

    async def fetch(client: C, keys: Sequence[K], _policy: UpstreamPolicy) -> Fetched[K]:
        try:
            found = await fetch_many(client, keys)
        except UpstreamError as exc:
            return Fetched([exc for _ in keys])
        return Fetched([found.get(key) for key in keys])

    return fetch


def merged(
    fetch_batch: Callable[[C, Sequence[K]], Awaitable[Fetched[K]]],
) -> Callable[[C, Sequence[K], UpstreamPolicy], Awaitable[Fetched[K]]]:
    """All keys in one request that answers each key on its own (a GraphQL document with one alias
    per key); a failure of the whole request fails every key."""

    async def fetch(client: C, keys: Sequence[K], _policy: UpstreamPolicy) -> Fetched[K]:
        try:
            return await fetch_batch(client, keys)
        except UpstreamError as exc:
            return Fetched([exc for _ in keys])

    return fetch


def fan_out(
    fetch_one: Callable[[C, K], Awaitable[V | None]],
) -> Callable[[C, Sequence[K], UpstreamPolicy], Awaitable[Fetched[K]]]:
    """No batch endpoint: one request per key, at most the policy's ``max_fanout`` at once."""

    async def settle(client: C, key: K) -> Answer:
        try:
            return await fetch_one(client, key)
        except UpstreamError as exc:
            return exc

    async def fetch(client: C, keys: Sequence[K], policy: UpstreamPolicy) -> Fetched[K]:
        if len(keys) == 1:
            try:
                return Fetched([await fetch_one(client, keys[0])])
            except UpstreamError as exc:
                return Fetched([exc])
        gate = asyncio.Semaphore(policy.max_fanout)

        async def one(key: K) -> Answer:
            async with gate:
                return await settle(client, key)

        return Fetched(list(await asyncio.gather(*(one(key) for key in keys))))

    return fetch
