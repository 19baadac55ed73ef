"""The built-in handler: an event drops what the cache holds about what it touches, through the one
invalidation path mutations use (the entity cache, its tags and the stored responses, here, in the
shared store and, over pub/sub, in every replica's in-process level)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from clients.declaration import Touched
from mobius.events.model import Event
from resolvers.cache import CacheEngine

Touches = Callable[[Event], Touched]
"""What an event invalidates (``Webhook.touches`` of its source's vendor)."""


class CacheInvalidation:
    """``touches`` says what an event invalidates. ``CacheUnavailable`` propagates: the event is
    retried (and, past ``max_deliveries``, dead-lettered) rather than silently lost."""

    def __init__(self, engine: CacheEngine | None, touches: Touches) -> None:
        self.engine = engine
        self.touches = touches

    async def handle(self, event: Event) -> None:
        await self.handle_batch((event,))

    async def handle_batch(self, events: Sequence[Event]) -> None:
        """What all ``events`` touch, dropped in one invalidation (one pass over the store, one
        pub/sub message): invalidation commutes, so a batch needs no per-event order."""
        if self.engine is None:
            return
        entities: dict[str, None] = {}
        tags: dict[str, None] = {}
        for event in events:
            touched = self.touches(event)
            entities.update(dict.fromkeys(touched.entities))
            tags.update(dict.fromkeys(touched.tags))
        if not entities and not tags:
            return
        await self.engine.invalidate(entities=list(entities), tags=list(tags))
