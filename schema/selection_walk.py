"""Reading a query's selections below a field: through aliases, fragments and inline fragments, with
``@skip``/``@include`` and variables applied (``schema.selection`` reads the fields a selection
declares with it).

A walk over the document is done once per set of field nodes (parsed documents are cached, so their
nodes are the same objects from one request to the next) with literal arguments and conditions
settled then; per request only what uses variables is evaluated (``Walk``: the request's variables).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLIncludeDirective,
    GraphQLObjectType,
    GraphQLResolveInfo,
    GraphQLSchema,
    GraphQLSkipDirective,
    InlineFragmentNode,
    NamedTypeNode,
    SelectionSetNode,
)
from graphql.execution.values import VariableValues, get_argument_values, get_directive_values
from strawberry.types.nodes import get_variable_values

from schema.collected import has_variable

Conditional = FieldNode | InlineFragmentNode | FragmentSpreadNode


class Walk:
    """What a selection is read with: the schema, the document's fragments, the request's variables
    (a plain class: one is made per request, and a compiled dataclass's ``__init__`` runs interpreted)."""

    __slots__ = ("_variables", "coerced", "fragments", "schema")

    def __init__(
        self, schema: GraphQLSchema, fragments: Mapping[str, FragmentDefinitionNode], coerced: dict[str, Any]
    ) -> None:
        self.schema = schema
        self.fragments = fragments
        self.coerced = coerced
        self._variables: VariableValues | None = None

    @classmethod
    def of(cls, info: GraphQLResolveInfo[Any]) -> Walk:
        return cls(info.schema, info.fragments, get_variable_values(info))  # Strawberry passes the plain dict

    @property
    def variables(self) -> VariableValues:
        """The request's variables as graphql-core reads them, made when first asked for (most
        selections have no argument or condition that uses one)."""
        variables = self._variables
        if variables is None:
            variables = self._variables = VariableValues(sources={}, coerced=self.coerced)
        return variables


def coerced_arguments(field: GraphQLField, node: FieldNode, walk: Walk | None) -> Mapping[str, Any] | None:
    """The arguments of ``node`` as ``field`` coerces them (``walk``: with the request's variables);
    None where they do not coerce (the field reports it when it runs)."""
    try:
        return get_argument_values(field, node, walk.variables if walk is not None else None)
    except GraphQLError:
        return None


@dataclass(frozen=True, slots=True)
class On:
    """Whether a fragment's type condition can apply to an object of type ``name``: its own name, or
    an abstract type (a fragment on another object type never does)."""

    schema: GraphQLSchema
    name: str

    def __call__(self, condition: NamedTypeNode | None) -> bool:
        if condition is None or condition.name.value == self.name:
            return True
        return not isinstance(self.schema.get_type(condition.name.value), GraphQLObjectType)


def walk_nodes(
    nodes: tuple[FieldNode, ...], name: str | None, fragments: Mapping[str, FragmentDefinitionNode], on: On
) -> Iterator[tuple[FieldNode, tuple[Conditional, ...]]]:
    for node in nodes:
        yield from _walk(node.selection_set, name, fragments, on, ())


def _walk(
    selection_set: SelectionSetNode | None,
    name: str | None,
    fragments: Mapping[str, FragmentDefinitionNode],
    on: On,
    conditions: tuple[Conditional, ...],
) -> Iterator[tuple[FieldNode, tuple[Conditional, ...]]]:
    """Fields (called ``name``, or all) of a selection set, through the fragments that apply, with the
    nodes whose ``@skip``/``@include`` decide whether they are selected."""
    if selection_set is None:
        return
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            if name is None or selection.name.value == name:
                yield selection, _under(conditions, selection)
        elif isinstance(selection, InlineFragmentNode):
            if on(selection.type_condition):
                yield from _walk(selection.selection_set, name, fragments, on, _under(conditions, selection))
        elif isinstance(selection, FragmentSpreadNode):
            fragment = fragments.get(selection.name.value)
            if fragment is not None and on(fragment.type_condition):
                yield from _walk(fragment.selection_set, name, fragments, on, _under(conditions, selection))


def _under(conditions: tuple[Conditional, ...], node: Conditional) -> tuple[Conditional, ...]:
    return (*conditions, node) if node.directives else conditions


def included(node: Conditional, walk: Walk | None) -> bool:
    variables = walk.variables if walk is not None else None
    skip = get_directive_values(GraphQLSkipDirective, node, variables)
    if skip is not None and skip["if"] is True:
        return False
    include = get_directive_values(GraphQLIncludeDirective, node, variables)
    return include is None or include["if"] is not False


def uses_variables(node: Conditional) -> bool:
    return any(
        has_variable(argument.value) for directive in node.directives or () for argument in directive.arguments or ()
    )
