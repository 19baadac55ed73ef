"""A broker message of the projects upstream, as an ``Event``: bounded, then parsed once.

Anything that is not a well-formed issue event is a ``PoisonMessage``: the source rejects it
without requeue, so the broker dead-letters it instead of delivering it again.
"""

from __future__ import annotations

from typing import Any, Literal

import orjson

from mobius.events.model import Event

PoisonReason = Literal["oversize", "unparseable"]
SOURCE = "projects"
_ACTIONS = frozenset({"opened", "closed", "assigned", "reopened", "edited"})
_MAX_ID_LENGTH = 128


class PoisonMessage(ValueError):
    """A message no retry can make acceptable; ``reason`` is a metric label, the text is bounded."""

    def __init__(self, reason: PoisonReason, detail: str) -> None:
        super().__init__(detail[:200])
        self.reason: PoisonReason = reason


def parse_issue_message(body: bytes, *, message_id: str | None, max_bytes: int) -> Event:
    """The event in ``body``, checked against ``max_bytes`` before a byte of it is parsed.

    The id is the body's delivery ``id`` (the webhook's delivery id), else the AMQP message id.
    """
    if len(body) > max_bytes:
        raise PoisonMessage("oversize", f"message of {len(body)} bytes exceeds {max_bytes}")
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise PoisonMessage("unparseable", f"body is not JSON: {exc}") from None
    if not isinstance(document, dict):
        raise PoisonMessage("unparseable", "body is not a JSON object")
    issue = document.get("issue")
    if not isinstance(issue, dict):
        raise PoisonMessage("unparseable", "no `issue` object")
    action = document.get("action")
    if action not in _ACTIONS:
        raise PoisonMessage("unparseable", "`action` is not an issue action")
    event_id = _identifier(document.get("id")) or _identifier(message_id)
    entity_id = _identifier(issue.get("id"))
    version = issue.get("version")
    occurred_at = document.get("occurred_at", 0.0)
    if event_id is None or entity_id is None:
        raise PoisonMessage("unparseable", "event or issue id missing or malformed")
    if type(version) is not int or version < 1:
        raise PoisonMessage("unparseable", "`issue.version` must be a positive integer")
    if type(occurred_at) not in (int, float):
        raise PoisonMessage("unparseable", "`occurred_at` must be a number")
    return Event(
        id=event_id,
        source=SOURCE,
        type=f"issue.{action}",
        entity_type="issue",
        entity_id=entity_id,
        version=version,
        occurred_at=float(occurred_at),
        data=_issue_data(issue),
    )


def _identifier(value: Any) -> str | None:
    if isinstance(value, str) and 0 < len(value) <= _MAX_ID_LENGTH and value.isprintable():
        return value
    return None


def _issue_data(issue: dict[str, Any]) -> dict[str, object]:
    """The issue's fields a handler may use (routing by project, fan-out to subscribers)."""
    return {key: issue[key] for key in ("id", "state", "projectId", "assigneeId", "title") if key in issue}
