"""A projects broker message becomes the same Event its webhook would, or is refused as poison
before it is parsed whole."""

from __future__ import annotations

import orjson
import pytest

from clients.projects import parse_webhook
from mobius.events.sources.messages import MessageReader, PoisonMessage

READER = MessageReader(source="projects", parse=parse_webhook, max_bytes=4096)


def body(**changes: object) -> bytes:
    document: dict[str, object] = {
        "action": "assigned",
        "occurred_at": 10,
        "issue": {"id": "issue-3", "state": "OPEN", "assignee_id": "user-2", "project_id": "project-1", "version": 4},
    }
    return orjson.dumps(document | changes)


def test_a_well_formed_message_is_an_issue_event_with_the_issue_version() -> None:
    [event] = READER.events(body(), message_id="delivery-7")
    assert (event.id, event.source, event.type, event.entity_id, event.version, event.occurred_at) == (
        "delivery-7",
        "projects",
        "issue.assigned",
        "issue-3",
        4,
        10.0,
    )
    assert event.data["assignee_id"] == "user-2"


def test_size_is_checked_before_parsing() -> None:
    with pytest.raises(PoisonMessage) as caught:
        READER.events(b"{" * 5000, message_id="m-1")
    assert caught.value.reason == "oversize"


@pytest.mark.parametrize(
    ("raw", "message_id"),
    [
        (body(), None),
        (body(), ""),
        (body(), "x" * 500),
        (b"\xff\xfe", "m-1"),
        (b"null", "m-1"),
        (body(action="deleted"), "m-1"),
        (body(issue={"id": "issue-3"}), "m-1"),
        (body(occurred_at="yesterday"), "m-1"),
    ],
)
def test_malformed_messages_are_poison(raw: bytes, message_id: str | None) -> None:
    with pytest.raises(PoisonMessage) as caught:
        READER.events(raw, message_id=message_id)
    assert caught.value.reason == "unparseable"
