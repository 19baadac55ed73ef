"""The one shape every inbound event takes, whatever its source (webhook or broker)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from clients.declaration import WebhookEvent


@dataclass(frozen=True, slots=True)
class Event:
    """A change at an upstream, normalised.

    ``id`` is unique per source (the webhook id or delivery id, the broker message id) and is what
    replay protection records. ``version`` orders events of one entity: an event whose version is not
    newer than the one already applied changes nothing.
    """

    id: str
    source: str
    type: str
    entity_type: str
    entity_id: str
    version: int
    occurred_at: float
    data: Mapping[str, object] = field(default_factory=dict)


def events_of(changes: Sequence[WebhookEvent], *, delivery_id: str, source: str) -> list[Event]:
    """The events of one delivery (a webhook or a broker message) that reports ``changes``: each takes
    the delivery id, ``<id>:<n>`` when the delivery carries several, so that each has its own."""
    return [
        Event(
            id=delivery_id if len(changes) == 1 else f"{delivery_id}:{index}",
            source=source,
            type=change.type,
            entity_type=change.entity_type,
            entity_id=change.entity_id,
            version=change.version,
            occurred_at=change.occurred_at,
            data=change.data,
        )
        for index, change in enumerate(changes)
    ]
