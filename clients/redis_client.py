"""The two shapes of Redis client the gateway works with -- one server (alone or found through
Sentinel) or a Redis Cluster -- and the slot-safe forms of the multi-key operations its stores use.

A cluster answers a command only when all its keys hash to one slot (``CROSSSLOT`` otherwise), so
reads of many keys go out as one ``MGET`` per slot (in one pipeline per node) and scripts are run
once per slot with the keys of that slot. On one server every key shares the one "slot": a single
``MGET``, a single script call.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.crc import key_slot

RedisClient = Redis | RedisCluster


def cancel_requested() -> bool:
    """Whether the running task has been asked to stop. On Python 3.11 a cancellation that lands
    while a Redis command is being sent is consumed: redis-py sends under ``asyncio.wait_for`` (the
    client's ``socket_timeout``), and 3.11's ``wait_for`` returns the result instead of raising when
    its sending task finished in the same turn (CPython gh-86296, fixed in 3.12). The command
    returns, the task stays "cancelling" and runs on."""
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


def raise_consumed_cancel() -> None:
    """Raise the ``CancelledError`` a Redis command consumed (see ``cancel_requested``). A loop that
    runs until it is cancelled calls it after its commands, before it waits again: otherwise a stop
    that cancels the loop and awaits it waits for that wait, or for ever."""
    if cancel_requested():
        raise asyncio.CancelledError


async def get_many(client: RedisClient, keys: Sequence[str]) -> list[Any]:
    """The values of ``keys`` in their order (``None`` where absent): one ``MGET`` per slot."""
    if not keys:
        return []
    if isinstance(client, RedisCluster):
        return await client.mget_nonatomic(list(keys))
    return await client.mget(list(keys))


def by_slot(client: RedisClient, keys: Sequence[str]) -> list[list[str]]:
    """``keys`` grouped so that each group may be one command's (or one script's) keys."""
    if not keys:
        return []
    if not isinstance(client, RedisCluster):
        return [list(keys)]
    groups: dict[int, list[str]] = {}
    for key in keys:
        groups.setdefault(key_slot(key.encode()), []).append(key)
    return list(groups.values())


def hash_tagged(text: str) -> str:
    """``text`` as a Redis Cluster hash tag (``{text}``), so that every key built around it lands on one slot.
    Braces inside ``text`` are replaced: the first ``}`` would end the tag early."""
    return "{" + text.replace("{", "(").replace("}", ")") + "}"
