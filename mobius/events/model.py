"""The one shape every inbound event takes, whatever its source (webhook or broker)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


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
