"""What the worker calls for every event it takes from the stream."""

from __future__ import annotations

from typing import Protocol

from mobius.events.model import Event


class EventHandler(Protocol):
    """Applies one event's effect. It must be idempotent: delivery is at-least-once, and an event
    whose handlers did not all succeed is handled again. Raising means "retry later"."""

    async def handle(self, event: Event) -> None: ...
