"""What the worker calls for every event it takes from the stream."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from mobius.events.model import Event


class EventHandler(Protocol):
    """Applies one event's effect. It must be idempotent: delivery is at-least-once, and an event
    whose handlers did not all succeed is handled again. Raising means "retry later"."""

    async def handle(self, event: Event) -> None: ...


@runtime_checkable
class BatchEventHandler(Protocol):
    """A handler whose effect is order-insensitive may take a batch's events at once (one round trip
    instead of one per event). The worker calls ``handle_batch`` for the leading handlers that offer
    it, once per batch, before the per-event handlers; raising fails every event of the batch."""

    async def handle(self, event: Event) -> None: ...

    async def handle_batch(self, events: Sequence[Event]) -> None: ...
