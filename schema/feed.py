"""What a subscription reads from: a feed of events per topic (``mobius.subscriptions`` serves it
from Redis pub/sub or in-process), and the topic names publishers and subscribers share."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from typing import Protocol

EventMessage = Mapping[str, object]
"""One event as published: ``id``, ``type``, ``entity_type``, ``entity_id``, ``version``,
``occurred_at`` (Unix seconds) and ``data``."""


class EventStream(Protocol):
    """One subscriber's events, in order, until ``close``."""

    def __aiter__(self) -> AsyncIterator[EventMessage]: ...

    def close(self) -> None: ...


class EventFeed(Protocol):
    def subscribe(self, topic: str, *, on_overflow: Callable[[], None] | None = None) -> EventStream:
        """Events published to ``topic`` from now on. A subscriber that falls more than the buffer
        behind is dropped: its stream stops and ``on_overflow`` is called once."""
        ...


def invoice_topic(org_id: str) -> str:
    return f"invoice:{org_id}"


def issue_topic(project_id: str) -> str:
    return f"issue:{project_id}"


def ticket_topic(org_id: str) -> str:
    return f"ticket:{org_id}"
