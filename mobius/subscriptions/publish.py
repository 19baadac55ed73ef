"""``PublishEvents``: the event handler that hands each inbound event to the subscription bus, on
the topic its subscribers listen to (``schema.feed``): an invoice's by ``data["org_id"]``, a
ticket's by ``data["org_id"]``, an issue's by ``data["project_id"]``. Events of other entities,
or without the id their topic needs, are not published."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import structlog

from mobius.events.codec import as_message
from mobius.events.model import Event
from mobius.subscriptions.bus import Bus
from schema.feed import invoice_topic, issue_topic, ticket_topic

log = structlog.get_logger("mobius.subscriptions")

MAX_KEY_CHARS = 200

_ROUTES: dict[str, tuple[str, Callable[[str], str]]] = {
    "invoice": ("org_id", invoice_topic),
    "ticket": ("org_id", ticket_topic),
    "issue": ("project_id", issue_topic),
}
"""Entity type -> the ``data`` key naming its topic's owner, and the topic."""


def topic_of(event: Event) -> str | None:
    entity = event.entity_type.lower() or event.type.partition(".")[0].lower()
    route = _ROUTES.get(entity)
    if route is None:
        return None
    key, topic = route
    owner = event.data.get(key)
    if not isinstance(owner, str | int) or not 0 < len(str(owner)) <= MAX_KEY_CHARS:
        return None
    return topic(str(owner))


class PublishEvents:
    """An event handler (``handle(event)``, or ``handle_batch``): publishes each event to its
    subscribers on every replica."""

    def __init__(self, bus: Bus) -> None:
        self.bus = bus

    async def handle(self, event: Event) -> None:
        await self.handle_batch((event,))

    async def handle_batch(self, events: Sequence[Event]) -> None:
        """The events with a topic, in order (so per entity in version order), in one round trip."""
        messages = []
        for event in events:
            topic = topic_of(event)
            if topic is None:
                log.debug("event_not_published", entity_type=event.entity_type[:50], type=event.type[:50])
                continue
            messages.append((topic, as_message(event)))
        await self.bus.publish_many(messages)
