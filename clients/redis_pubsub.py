"""One Redis pub/sub subscription kept alive: the loop the cache's invalidations, the fleet's breaker
board and the subscription bus each listen with.

It subscribes (to a channel, or to a glob pattern), waits for Redis to confirm within
``confirm_timeout_s`` (a stalled server must not leave it believing it listens), runs
``on_subscribed`` (a catch-up of what was missed while not listening), sets ``listening`` and hands
every message to ``handle``. A lost connection clears ``listening``, is logged once as ``lost_event``,
and the loop subscribes again after ``reconnect_s``; messages published meanwhile are missed, which
each user bounds in its own way (a short L1 TTL, the catch-up).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.exceptions import RedisError

from clients.redis_client import raise_consumed_cancel

log = structlog.get_logger("mobius.redis")

Handle = Callable[[dict[str, Any]], None]


class PubSubListener:
    def __init__(
        self,
        client: Redis,
        *,
        channel: str,
        handle: Handle,
        lost_event: str,
        pattern: bool = False,
        on_subscribed: Callable[[], Awaitable[None]] | None = None,
        reconnect_s: float = 1.0,
        confirm_timeout_s: float = 1.0,
        retry_on: tuple[type[Exception], ...] = (),
    ) -> None:
        """``pattern``: ``channel`` is a glob pattern (``PSUBSCRIBE``). ``retry_on`` adds errors
        (besides Redis's, the socket's and timeouts) that end one subscription and start the next."""
        self.client = client
        self.handle = handle
        self.lost_event = lost_event
        self.channel = channel
        self.pattern = pattern
        self.on_subscribed = on_subscribed
        self.reconnect_s = reconnect_s
        self.confirm_timeout_s = confirm_timeout_s
        self.retry_on: tuple[type[Exception], ...] = (RedisError, OSError, TimeoutError, *retry_on)
        self.listening = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self.run())

    async def stop(self) -> None:
        """Stop listening; the client stays open (its owner closes it)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def run(self) -> None:
        while True:
            try:
                async with self.client.pubsub() as pubsub:
                    await self._subscribe(pubsub)
                    if self.on_subscribed is not None:
                        await self.on_subscribed()
                    raise_consumed_cancel()
                    self.listening.set()
                    while True:
                        message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
                        raise_consumed_cancel()
                        if message is not None:
                            self.handle(message)
            except self.retry_on as exc:
                if self.listening.is_set():
                    log.warning(self.lost_event, error_type=type(exc).__name__)
                self.listening.clear()
                raise_consumed_cancel()
                await asyncio.sleep(self.reconnect_s)

    async def _subscribe(self, pubsub: PubSub) -> None:
        confirmed = "psubscribe" if self.pattern else "subscribe"
        async with asyncio.timeout(self.confirm_timeout_s):
            if self.pattern:
                await pubsub.psubscribe(self.channel)
            else:
                await pubsub.subscribe(self.channel)
            while True:
                confirmation = await pubsub.get_message(timeout=self.confirm_timeout_s)
                if confirmation is not None and confirmation.get("type") == confirmed:
                    return
