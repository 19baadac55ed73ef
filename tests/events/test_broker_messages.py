"""A projects broker message becomes one Event, or is refused as poison before it is parsed whole."""

from __future__ import annotations

import orjson
import pytest

from mobius.events.sources.messages import PoisonMessage, parse_issue_message


def body(**changes: object) -> bytes:
    document: dict[str, object] = {
        "id": "delivery-7",
        "action": "assigned",
        "occurred_at": 10,
        "issue": {"id": "issue-3", "state": "OPEN", "assigneeId": "user-2", "projectId": "project-1", "version": 4},
    }
    return orjson.dumps(document | changes)


def test_a_well_formed_message_is_an_issue_event_with_the_issue_version() -> None:
    event = parse_issue_message(body(), message_id=None, max_bytes=4096)
    assert (event.id, event.type, event.entity_id, event.version, event.occurred_at) == (
        "delivery-7",
        "issue.assigned",
        "issue-3",
        4,
        10.0,
    )
    assert event.data == {"id": "issue-3", "state": "OPEN", "assigneeId": "user-2", "projectId": "project-1"}


def test_the_amqp_message_id_stands_in_for_a_missing_delivery_id() -> None:
    document = orjson.loads(body())
    del document["id"]
    assert parse_issue_message(orjson.dumps(document), message_id="m-1", max_bytes=4096).id == "m-1"


def test_size_is_checked_before_parsing() -> None:
    with pytest.raises(PoisonMessage) as caught:
        parse_issue_message(b"{" * 5000, message_id=None, max_bytes=4096)
    assert caught.value.reason == "oversize"


@pytest.mark.parametrize(
    "raw",
    [
        b"\xff\xfe",
        b"null",
        body(action="deleted"),
        body(issue={"id": "issue-3"}),
        body(issue={"id": "issue-3", "version": True}),
        body(issue={"id": "", "version": 1}),
        body(id="x" * 500, issue={"id": "issue-3", "version": 1}),
        body(occurred_at="yesterday"),
    ],
)
def test_malformed_messages_are_poison(raw: bytes) -> None:
    with pytest.raises(PoisonMessage) as caught:
        parse_issue_message(raw, message_id=None, max_bytes=4096)
    assert caught.value.reason == "unparseable"
