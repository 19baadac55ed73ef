"""Broker messages as ``Event``s: the body bounded, then read by the same ``parse`` as the
upstream's webhooks (its declaration in ``clients/``), so a change reads the same either way.

Anything that is not acceptable is a ``PoisonMessage``: the source rejects it without requeue, so
the broker dead-letters it instead of delivering it again.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from clients.declaration import WebhookEvent
from mobius.events.model import Event, events_of

PoisonReason = Literal["oversize", "unparseable"]
_MAX_ID_CHARS = 128


class PoisonMessage(ValueError):
    """A message no retry can make acceptable; ``reason`` is a metric label, the text is bounded."""

    def __init__(self, reason: PoisonReason, detail: str) -> None:
        super().__init__(detail[:200])
        self.reason: PoisonReason = reason


@dataclass(frozen=True, slots=True, kw_only=True)
class MessageReader:
    """``source`` names the upstream (as webhooks do); ``parse`` is its webhook declaration's."""

    source: str
    parse: Callable[[bytes], Sequence[WebhookEvent]]
    max_bytes: int

    def events(self, body: bytes, *, message_id: str | None) -> list[Event]:
        """The changes in ``body``, each with the delivery id (the AMQP message id, which the upstream
        sets to its webhook delivery id; ``<id>:<n>`` when one message carries several changes)."""
        if len(body) > self.max_bytes:
            raise PoisonMessage("oversize", f"message of {len(body)} bytes exceeds {self.max_bytes}")
        if message_id is None or not 0 < len(message_id) <= _MAX_ID_CHARS or not message_id.isprintable():
            raise PoisonMessage("unparseable", "message id missing or malformed")
        try:
            changes = self.parse(body)
        except ValueError as exc:
            raise PoisonMessage("unparseable", str(exc)) from None
        if not changes:
            raise PoisonMessage("unparseable", "the message reports no change")
        return events_of(changes, delivery_id=message_id, source=self.source)
