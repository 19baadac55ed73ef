"""The contract between an event source (a broker consumer) and the durable stream."""

from __future__ import annotations

from typing import Protocol

from mobius.events.model import Event


class EventSink(Protocol):
    """The durable stream as a source sees it: ``append`` returns once the event is stored."""

    async def append(self, event: Event) -> None: ...


class EventSource(Protocol):
    """A consumer that feeds ``sink`` until cancelled; it acknowledges a message only after ``append``."""

    name: str

    async def run(self, sink: EventSink) -> None: ...
