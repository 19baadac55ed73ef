"""The fields a selection collects are kept across requests of one operation only where they
cannot differ between requests: the same document with other directive variables, fragments or
argument values still gets its own answer."""

from __future__ import annotations

from typing import Any

from graphql import OperationDefinitionNode, parse
from harness import Gateway

from schema.collected import shared_collections

TOGGLED = """
query Org($withMembers: Boolean!, $skipName: Boolean!, $first: Int!) {
  organization(id: "org-1") {
    id
    name @skip(if: $skipName)
    members(first: $first) @include(if: $withMembers) { nodes { id ...Named } }
  }
}
fragment Named on User { name }
"""


async def test_directive_variables_still_decide_per_request(gateway: Gateway) -> None:
    both = await gateway.query(TOGGLED, {"withMembers": True, "skipName": False, "first": 2})
    neither = await gateway.query(TOGGLED, {"withMembers": False, "skipName": True, "first": 2})
    again = await gateway.query(TOGGLED, {"withMembers": True, "skipName": False, "first": 3})

    organization = both["data"]["organization"]
    assert set(organization) == {"id", "name", "members"}
    assert [set(user) for user in organization["members"]["nodes"]] == [{"id", "name"}] * 2
    assert neither["data"]["organization"] == {"id": "org-1"}
    assert len(again["data"]["organization"]["members"]["nodes"]) == 3


NESTED = """
query Owners($withName: Boolean!) {
  organization(id: "org-1") {
    projects(first: 2) { nodes { owner { id name @include(if: $withName) } issues(first: 1) { nodes { id } } } }
  }
}
"""


async def test_a_nested_selection_follows_each_request_s_variables(gateway: Gateway) -> None:
    """The owner of each project (an object in a list item) is completed with the selection this
    request collects, not the one an earlier request of the same document collected."""
    named = await gateway.query(NESTED, {"withName": True})
    unnamed = await gateway.query(NESTED, {"withName": False})
    named_again = await gateway.query(NESTED, {"withName": True})

    owners = [project["owner"] for project in named["data"]["organization"]["projects"]["nodes"]]
    assert len(owners) == 2
    assert all(set(owner) == {"id", "name"} for owner in owners)
    bare = [project["owner"] for project in unnamed["data"]["organization"]["projects"]["nodes"]]
    assert bare == [{"id": owner["id"]} for owner in owners]
    assert named_again == named


async def test_a_shared_selection_answers_each_request_from_its_own_data(gateway: Gateway) -> None:
    query = 'query One($id: ID!) { user(id: $id) { id name } org: organization(id: "org-1") { id } }'
    first = await gateway.query(query, {"id": "user-1"})
    second = await gateway.query(query, {"id": "user-2"})

    assert first["data"]["user"]["id"] == "user-1"
    assert second["data"]["user"]["id"] == "user-2"
    assert first["data"]["org"] == second["data"]["org"] == {"id": "org-1"}


PAGES = """
query Pages($issues: Int!) {
  organization(id: "org-1") {
    projects(first: 2) { nodes { id issues(first: $issues) { nodes { id } } } }
  }
}
"""


async def test_literal_arguments_kept_across_requests_leave_variable_ones_to_each_request(gateway: Gateway) -> None:
    """A step's literal arguments are coerced once for every request of the operation (kept on the
    shared step); an argument from a variable is still coerced per request."""
    one = await gateway.query(PAGES, {"issues": 1})
    two = await gateway.query(PAGES, {"issues": 2})
    one_again = await gateway.query(PAGES, {"issues": 1})

    def page_sizes(answer: dict[str, Any]) -> list[int]:
        return [len(project["issues"]["nodes"]) for project in answer["data"]["organization"]["projects"]["nodes"]]

    assert page_sizes(one) == [1, 1]
    assert page_sizes(two) == [2, 2]
    assert one_again == one


def operation_of(text: str) -> tuple[OperationDefinitionNode, dict[str, object]]:
    document = parse(text)
    operation = next(d for d in document.definitions if isinstance(d, OperationDefinitionNode))
    fragments = {d.name.value: d for d in document.definitions if not isinstance(d, OperationDefinitionNode)}
    return operation, fragments  # type: ignore[return-value]


def test_only_operations_whose_collection_cannot_vary_are_shared() -> None:
    literal, fragments = operation_of("query { a @include(if: true) { b ...F } } fragment F on T { c(x: $v) }")
    assert shared_collections(literal, fragments) == {}  # type: ignore[arg-type]
    assert shared_collections(literal, fragments) is shared_collections(literal, fragments)  # type: ignore[arg-type]
    for varying in (
        "query($v: Boolean!) { a @include(if: $v) { b } }",
        "query($v: Boolean!) { a { ... @skip(if: $v) { b } } }",
        "query($v: Boolean!) { a { ...F } } fragment F on T { b @include(if: $v) }",
        "query { a { ... @defer { b } } }",
        "query($v: [Boolean!]!) { a @custom(list: [$v]) { b } }",
    ):
        operation, fragments = operation_of(varying)
        assert shared_collections(operation, fragments) is None, varying  # type: ignore[arg-type]


ROOTS = """
query Roots($id: ID!) {
  ...Viewer
  ... on Query { org: organization(id: "org-1") { id } }
}
fragment Viewer on Query { user(id: $id) { id } }
"""


async def test_root_fields_collected_once_answer_each_request(gateway: Gateway) -> None:
    """An operation's root fields, spread and inline fragments included, are collected once and
    kept (no directive in it depends on the request): each request still gets its own values."""
    first = await gateway.query(ROOTS, {"id": "user-1"})
    second = await gateway.query(ROOTS, {"id": "user-2"})

    assert first == {"data": {"user": {"id": "user-1"}, "org": {"id": "org-1"}}}
    assert second == {"data": {"user": {"id": "user-2"}, "org": {"id": "org-1"}}}
