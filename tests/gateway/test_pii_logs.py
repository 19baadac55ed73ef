"""PII never reaches a log line through a request's variables: which fields are PII is derived from
the schema, and a failed operation's log event carries its variables with those blanked."""

from __future__ import annotations

import gc
from typing import Any

from graphql import TypeInfo, TypeInfoVisitor, Visitor, parse
from harness import ADMIN_HEADERS, Gateway
from structlog.testing import capture_logs

from mobius.logging import redact_event
from schema.pii import BLANKED, PiiFields
from schema.root import build_schema

PHONE = "+1 555 0199 7788"
PII = PiiFields(build_schema()._schema)


def test_pii_fields_are_derived_from_the_schema() -> None:
    assert {("User", "email"), ("User", "phone")} <= PII.outputs
    assert PII.inputs["UpdateUserInput"] == frozenset({"phone"})


def test_a_variable_passed_to_a_pii_field_and_pii_inside_an_input_are_blanked() -> None:
    document = parse(
        """mutation ($id: ID!, $contact: String, $change: UpdateUserInput!, $etag: String!) {
          a: updateUser(id: $id, input: {phone: $contact}, ifMatch: $etag) { id }
          b: updateUser(id: $id, input: $change, ifMatch: $etag) { id }
        }"""
    )
    blanked = PII.blank(
        document, {"id": "user-1", "contact": PHONE, "change": {"name": "Ada", "phone": PHONE}, "etag": "e"}
    )
    assert blanked == {"id": "user-1", "contact": BLANKED, "change": {"name": "Ada", "phone": BLANKED}, "etag": "e"}


async def update(gateway: Gateway, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    with capture_logs() as logs:
        answer = await gateway.query(query, variables, headers=ADMIN_HEADERS)
    assert answer["errors"][0]["extensions"]["code"] == "CONFLICT"
    failed = [event for event in logs if event["event"] == "operation_failed"]
    assert len(failed) == 1
    return failed[0]


async def test_a_failed_request_logs_its_variables_without_the_phone(gateway: Gateway) -> None:
    event = await update(
        gateway,
        """mutation ($id: ID!, $c: String, $etag: String!) {
          updateUser(id: $id, input: {phone: $c}, ifMatch: $etag) { id }
        }""",
        {"id": "user-3", "c": PHONE, "etag": "stale-etag"},
    )
    assert event["variables"] == {"id": "user-3", "c": BLANKED, "etag": "stale-etag"}
    assert event["error_codes"] == ["CONFLICT"]
    rendered = repr(redact_event(None, "info", dict(event)))
    assert PHONE not in rendered


async def test_a_pii_field_inside_an_input_variable_is_blanked_in_the_log(gateway: Gateway) -> None:
    event = await update(
        gateway,
        """mutation ($id: ID!, $x: UpdateUserInput!, $etag: String!) {
          updateUser(id: $id, input: $x, ifMatch: $etag) { id }
        }""",
        {"id": "user-3", "x": {"name": "Ada", "phone": PHONE}, "etag": "stale-etag"},
    )
    assert event["variables"]["x"] == {"name": "Ada", "phone": BLANKED}
    assert PHONE not in repr(event)


def test_variables_are_found_through_fragments_lists_nested_inputs_and_directives() -> None:
    document = parse(
        """mutation ($a: String, $b: String, $c: String, $d: String, $skip: Boolean!) {
          ...on Mutation { updateUser(id: "u", input: {phone: $a}, ifMatch: "e") { id } }
          updateUser(id: "u", input: {name: $b}, ifMatch: "e") @skip(if: $skip) { id }
          ...change
        }
        fragment change on Mutation { updateUser(id: "u", input: {phone: $c, name: $d}, ifMatch: "e") { id } }"""
    )
    assert PII._variables_at_pii_fields(document) == {"a", "c"}


def test_finding_the_variables_at_pii_fields_leaves_no_garbage() -> None:
    """Each errored request's variables are blanked: nothing of it may wait for the collector."""
    document = parse(
        """mutation ($id: ID!, $c: String, $etag: String!) {
          updateUser(id: $id, input: {phone: $c}, ifMatch: $etag) { id }
        }"""
    )
    variables = {"id": "user-3", "c": PHONE, "etag": "stale-etag"}
    gc.collect()
    gc.disable()
    try:
        for _ in range(20):
            assert PII.blank(document, variables)["c"] == BLANKED
        assert gc.collect() == 0
    finally:
        gc.enable()


async def test_an_errored_request_with_pii_variables_leaves_no_visitor_for_the_collector(
    gateway: Gateway, saved_garbage: list[object]
) -> None:
    await update(
        gateway,
        """mutation ($id: ID!, $c: String, $etag: String!) {
          updateUser(id: $id, input: {phone: $c}, ifMatch: $etag) { id }
        }""",
        {"id": "user-3", "c": PHONE, "etag": "stale-etag"},
    )
    gc.collect()
    assert not [found for found in saved_garbage if isinstance(found, (TypeInfo, Visitor, TypeInfoVisitor))]
