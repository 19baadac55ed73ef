"""Federation ``_entities`` representations, checked before an operation runs.

A router sends at most ``MAX_REPRESENTATIONS`` objects per request, each naming an entity type in
``__typename`` and giving exactly that type's key fields (the arguments of its
``resolve_reference``), each a scalar of at most ``MAX_KEY_CHARS`` characters. Anything else is the
client's mistake, answered as a ``BAD_USER_INPUT`` request error before any upstream is asked:
over HTTP by ``mobius.executor``, over a WebSocket by ``schema.operations.PreparedDocuments``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
)
from graphql.execution.values import VariableValues, get_argument_values, get_variable_values
from strawberry.types.base import StrawberryObjectDefinition
from strawberry.utils.inspect import get_func_args

MAX_REPRESENTATIONS = 100
MAX_KEY_CHARS = 256
ENTITIES = "_entities"
BAD_USER_INPUT = "BAD_USER_INPUT"


class Representations:
    """The key fields of each entity type of a federation schema."""

    def __init__(self, schema: Any) -> None:
        """``schema``: a ``strawberry.federation.Schema``."""
        self.schema = schema._schema
        self.keys: dict[str, frozenset[str]] = {}
        for name, type_ in schema.schema_converter.type_map.items():
            definition = getattr(type_, "definition", None)
            resolve_reference = getattr(getattr(definition, "origin", None), "resolve_reference", None)
            if isinstance(definition, StrawberryObjectDefinition) and resolve_reference is not None:
                arguments = get_func_args(resolve_reference)
                self.keys[name] = frozenset(argument for argument in arguments if argument not in ("info", "cls"))

    def operation_error(
        self, query: str, document: DocumentNode, operation: OperationDefinitionNode, variables: VariableValues
    ) -> GraphQLError | None:
        """The request error of ``operation`` (of ``document``, whose text is ``query``), if any."""
        if ENTITIES not in query:
            return None
        fragments = {node.name.value: node for node in document.definitions if isinstance(node, FragmentDefinitionNode)}
        return self.error(operation, fragments, variables)

    def raw_operation_error(
        self, query: str, document: DocumentNode, operation: OperationDefinitionNode, raw: Mapping[str, Any]
    ) -> GraphQLError | None:
        """As ``operation_error``, with the variables as sent; variables that do not coerce are
        left to the executor, which reports them."""
        if ENTITIES not in query:
            return None
        variables = get_variable_values(self.schema, operation.variable_definitions or (), dict(raw))
        if not isinstance(variables, VariableValues):
            return None
        return self.operation_error(query, document, operation, variables)

    def error(
        self,
        operation: OperationDefinitionNode,
        fragments: Mapping[str, FragmentDefinitionNode],
        variables: VariableValues,
    ) -> GraphQLError | None:
        """The request error of the first malformed representation ``operation`` sends, if any
        (``variables`` as the executor coerced them)."""
        query = self.schema.query_type
        if query is None or ENTITIES not in query.fields:
            return None
        for node in _root_fields(operation.selection_set, fragments, set()):
            if node.name.value != ENTITIES:
                continue
            try:
                arguments = get_argument_values(query.fields[ENTITIES], node, variables)
            except GraphQLError as error:
                return GraphQLError(error.message, nodes=[node], extensions={"code": BAD_USER_INPUT})
            problem = self._problem(arguments.get("representations"))
            if problem is not None:
                return GraphQLError(problem, nodes=[node], extensions={"code": BAD_USER_INPUT})
        return None

    def _problem(self, representations: Any) -> str | None:
        if not isinstance(representations, list):
            return "`representations` must be a list of objects"
        if len(representations) > MAX_REPRESENTATIONS:
            return f"at most {MAX_REPRESENTATIONS} representations per request, not {len(representations)}"
        for index, representation in enumerate(representations):
            problem = self._representation_problem(representation)
            if problem is not None:
                return f"representations[{index}]: {problem}"
        return None

    def _representation_problem(self, representation: Any) -> str | None:
        if not isinstance(representation, dict):
            return "a representation is an object with `__typename` and the entity's key fields"
        type_name = representation.get("__typename")
        keys = self.keys.get(type_name) if isinstance(type_name, str) else None
        if keys is None:
            return f"`__typename` must name an entity type: {', '.join(sorted(self.keys))}"
        given = set(representation) - {"__typename"}
        if given != keys:
            return f"a {type_name} is represented by exactly its key fields: {', '.join(sorted(keys))}"
        for name in keys:
            value = representation[name]
            if not isinstance(value, str | int) or isinstance(value, bool):
                return f"`{name}` must be a string or an integer"
            if isinstance(value, str) and len(value) > MAX_KEY_CHARS:
                return f"`{name}` is longer than {MAX_KEY_CHARS} characters"
        return None


def _root_fields(
    selection_set: SelectionSetNode, fragments: Mapping[str, FragmentDefinitionNode], seen: set[str]
) -> list[FieldNode]:
    """The fields of a root selection, its fragments expanded (each once)."""
    fields: list[FieldNode] = []
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            fields.append(selection)
        elif isinstance(selection, InlineFragmentNode):
            fields += _root_fields(selection.selection_set, fragments, seen)
        elif isinstance(selection, FragmentSpreadNode) and selection.name.value not in seen:
            seen.add(selection.name.value)
            fragment = fragments.get(selection.name.value)
            if fragment is not None:
                fields += _root_fields(fragment.selection_set, fragments, seen)
    return fields
