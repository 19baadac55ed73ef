"""Invalidations from other replicas: a subscriber that evicts this replica's L1.

If Redis is down the subscriber reconnects in the background; invalidations published meanwhile
are missed, which the short L1 TTL bounds.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence
from typing import Any

import orjson
import redis.asyncio as redis
import structlog
from redis.asyncio.client import PubSub
from redis.exceptions import RedisError

log = structlog.get_logger("mobius.cache")

Evict = Callable[[Sequence[str], Sequence[str]], None]


class InvalidationListener:
    def __init__(
        self,
        client: redis.Redis,
        channel: str,
        *,
        evict: Evict,
        clear: Callable[[], None],
        reconnect_s: float = 1.0,
        confirm_timeout_s: float = 1.0,
        origin: str | None = None,
    ) -> None:
        """``origin`` is the publishing store of this process: its messages are skipped, since the
        process evicted before it published (a second eviction would only refuse to keep the
        responses rebuilt meanwhile)."""
        self.client = client
        self.channel = channel
        self.evict = evict
        self.clear = clear
        self.reconnect_s = reconnect_s
        self.confirm_timeout_s = confirm_timeout_s
        self.origin = origin
        self.subscribed = asyncio.Event()
        self.received = 0
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.client.aclose()

    async def _run(self) -> None:
        while True:
            try:
                async with self.client.pubsub() as pubsub:
                    await self._subscribe(pubsub)
                    while True:
                        message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
                        if message is not None:
                            self._handle(message)
            except (RedisError, OSError, TimeoutError) as exc:
                if self.subscribed.is_set():
                    log.warning("cache_invalidation_subscriber_lost", error_type=type(exc).__name__)
                self.subscribed.clear()
                await asyncio.sleep(self.reconnect_s)

    async def _subscribe(self, pubsub: PubSub) -> None:
        """Subscribe and wait for Redis to confirm, within ``confirm_timeout_s`` (a stalled server
        must not leave the subscriber believing it listens)."""
        async with asyncio.timeout(self.confirm_timeout_s):
            await pubsub.subscribe(self.channel)
            while True:
                confirmation = await pubsub.get_message(timeout=self.confirm_timeout_s)
                if confirmation is not None and confirmation.get("type") == "subscribe":
                    break
        self.subscribed.set()

    def _handle(self, message: dict[str, Any]) -> None:
        try:
            payload = orjson.loads(message["data"])
        except (orjson.JSONDecodeError, KeyError, TypeError):
            return
        if not isinstance(payload, dict) or (self.origin is not None and payload.get("origin") == self.origin):
            return
        if payload.get("all"):
            self.clear()
        else:
            keys, tags = payload.get("keys", []), payload.get("tags", [])
            if isinstance(keys, list) and isinstance(tags, list):
                self.evict([str(k) for k in keys], [str(t) for t in tags])
        self.received += 1
