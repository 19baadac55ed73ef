"""What a selection declares (``schema.selection``) is worked out once per document and kept, but
what a request selects is its own: its variables decide the ``@include``d fields and the arguments
the reads are started with (or pushed down with), from one request to the next of the same document."""

from __future__ import annotations

from typing import Any

from graphql import DocumentNode, FieldNode, GraphQLObjectType, OperationDefinitionNode, parse

from schema.root import build_schema
from schema.selection import READ_FROM, Selection
from schema.selection_walk import Walk

SCHEMA = build_schema()._schema

READ_FROM_PROJECT = parse("""query ($withOwner: Boolean!, $first: Int!) {
  project(id: "project-1") {
    owner @include(if: $withOwner) { id }
    issues(first: $first) { nodes { id assignee { id } } }
  }
}""")

PUSHED_DOWN = parse("""query ($withIssues: Boolean!, $first: Int!) {
  organization(id: "org-1") {
    projects(first: 2) {
      nodes {
        id
        issues(first: $first) { nodes { id } }
        open: issues(first: 4, state: OPEN) @include(if: $withIssues) { nodes { id } }
      }
    }
  }
}""")

LITERAL = parse("""{
  organization(id: "org-1") { projects(first: 2) { nodes { issues(first: 3) { nodes { id } } } } }
}""")


def selection(document: DocumentNode, path: tuple[str, ...], type_name: str, variables: dict[str, Any]) -> Selection:
    """The selection of the field at ``path`` in ``document`` (made of ``type_name``), as a request
    with ``variables`` reads it."""
    operation = document.definitions[0]
    assert isinstance(operation, OperationDefinitionNode)
    selections = operation.selection_set.selections
    node = None
    for name in path:
        node = next(field for field in selections if isinstance(field, FieldNode) and field.name.value == name)
        selections = node.selection_set.selections if node.selection_set else ()
    assert node is not None
    object_type = SCHEMA.get_type(type_name)
    assert isinstance(object_type, GraphQLObjectType)
    return Selection((node,), object_type, Walk(SCHEMA, {}, variables))


def read_from(variables: dict[str, Any]) -> dict[str, Any]:
    """The fields below ``project`` that a request with ``variables`` reads from the project, with
    their ``first`` argument (``None``: none)."""
    project = selection(READ_FROM_PROJECT, ("project",), "Project", variables)
    return {below.nodes[0].name.value: arguments.get("first") for _, arguments, below in project.declared(READ_FROM)}


def pushed_down(document: DocumentNode, variables: dict[str, Any]) -> list[tuple[int, str | None]]:
    """The issue pages a request with ``variables`` pushes into its projects page: page size and state."""
    projects = selection(document, ("organization", "projects"), "ProjectConnection", variables)
    return [(issues.first, issues.state) for issues in projects.pushed_down("nodes")]


def test_each_request_reads_what_its_own_variables_select() -> None:
    assert read_from({"withOwner": True, "first": 3}) == {"owner": None, "issues": 3}
    assert read_from({"withOwner": False, "first": 7}) == {"issues": 7}
    assert read_from({"withOwner": True, "first": 2}) == {"owner": None, "issues": 2}


def test_each_request_pushes_down_the_issue_pages_its_own_variables_select() -> None:
    assert pushed_down(PUSHED_DOWN, {"withIssues": True, "first": 5}) == [(5, None), (4, "OPEN")]
    assert pushed_down(PUSHED_DOWN, {"withIssues": False, "first": 6}) == [(6, None)]
    assert pushed_down(PUSHED_DOWN, {"withIssues": True, "first": 5}) == [(5, None), (4, "OPEN")]
    assert pushed_down(LITERAL, {}) == pushed_down(LITERAL, {}) == [(3, None)]
