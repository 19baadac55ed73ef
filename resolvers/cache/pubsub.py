"""Invalidations from other replicas: a subscriber that evicts this replica's L1.

If Redis is down the subscriber reconnects in the background; invalidations published meanwhile
are missed, which the short L1 TTL bounds.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import orjson
import redis.asyncio as redis

from clients.redis_pubsub import PubSubListener

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
        self.origin = origin
        self.received = 0
        self._listener = PubSubListener(
            client,
            channel=channel,
            handle=self._handle,
            lost_event="cache_invalidation_subscriber_lost",
            reconnect_s=reconnect_s,
            confirm_timeout_s=confirm_timeout_s,
        )
        self.subscribed = self._listener.listening

    def start(self) -> None:
        self._listener.start()

    async def stop(self) -> None:
        await self._listener.stop()
        await self.client.aclose()

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
