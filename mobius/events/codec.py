"""An ``Event`` as the bytes a stream entry holds, and back."""

from __future__ import annotations

from typing import Any

import orjson

from mobius.events.model import Event


def as_message(event: Event) -> dict[str, object]:
    """The event as JSON-ready fields: a stream entry's, and a subscription message's."""
    return {
        "id": event.id,
        "source": event.source,
        "type": event.type,
        "entity_type": event.entity_type,
        "entity_id": event.entity_id,
        "version": event.version,
        "occurred_at": event.occurred_at,
        "data": dict(event.data),
    }


def encode(event: Event) -> bytes:
    return orjson.dumps(as_message(event))


def decode(raw: bytes | str) -> Event:
    """Raises ``ValueError`` for bytes that are not an encoded event."""
    try:
        fields: dict[str, Any] = orjson.loads(raw)
        return Event(
            id=str(fields["id"]),
            source=str(fields["source"]),
            type=str(fields["type"]),
            entity_type=str(fields["entity_type"]),
            entity_id=str(fields["entity_id"]),
            version=int(fields["version"]),
            occurred_at=float(fields["occurred_at"]),
            data=dict(fields.get("data") or {}),
        )
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ValueError(f"not an encoded event: {exc}") from None


def entity_key(event: Event) -> str:
    """The entity an event's version orders (``type:id``)."""
    return f"{event.entity_type}:{event.entity_id}"
