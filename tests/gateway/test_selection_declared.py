"""What a selection declares (``schema.selection``) is worked out once per document and kept, but
what a request selects is its own: its variables decide the ``@include``d fields and the arguments
the reads are started with, from one request to the next of the same document."""

from __future__ import annotations

from typing import Any

from graphql import FieldNode, GraphQLObjectType, OperationDefinitionNode, parse
from graphql.execution.values import VariableValues

from schema.root import build_schema
from schema.selection import READ_FROM, Selection
from schema.selection_walk import Walk

DOCUMENT = parse("""query ($withOwner: Boolean!, $first: Int!) {
  project(id: "project-1") {
    owner @include(if: $withOwner) { id }
    issues(first: $first) { nodes { id assignee { id } } }
  }
}""")


def read_from(variables: dict[str, Any]) -> dict[str, Any]:
    """The fields below ``project`` that a request with ``variables`` reads from the project, with
    their ``first`` argument (``None``: none)."""
    schema = build_schema()._schema
    operation = DOCUMENT.definitions[0]
    assert isinstance(operation, OperationDefinitionNode)
    project = operation.selection_set.selections[0]
    assert isinstance(project, FieldNode)
    project_type = schema.get_type("Project")
    assert isinstance(project_type, GraphQLObjectType)
    walk = Walk(schema, {}, VariableValues(sources={}, coerced=variables))
    declared = Selection((project,), project_type, walk).declared(READ_FROM)
    return {below.nodes[0].name.value: arguments.get("first") for _, arguments, below in declared}


def test_each_request_reads_what_its_own_variables_select() -> None:
    assert read_from({"withOwner": True, "first": 3}) == {"owner": None, "issues": 3}
    assert read_from({"withOwner": False, "first": 7}) == {"issues": 7}
    assert read_from({"withOwner": True, "first": 2}) == {"owner": None, "issues": 2}
