"""PII in a request's variables, derived from the schema, blanked before they reach a log line.

A field is PII when reading or writing it needs a ``pii:`` scope (``User.email``, ``User.phone``,
``UpdateUserInput.phone``: declared beside the types with ``requires_scopes`` and
``InputRequiresScopes``). ``PiiFields.blank`` returns a request's variables with every PII value
replaced: inside a variable whose input type holds PII fields (at any depth, in lists), and a
whole variable that an operation passes to a PII input field (``input: {phone: $p}``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from graphql import (
    DocumentNode,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLSchema,
    ObjectFieldNode,
    TypeInfo,
    TypeInfoVisitor,
    VariableNode,
    Visitor,
    get_named_type,
    type_from_ast,
    visit,
)

BLANKED = "[pii]"
PII_SCOPE = "pii:"


def _scopes(directives: Iterable[Any]) -> Iterable[str]:
    for directive in directives:
        for alternative in getattr(directive, "scopes", None) or ():
            yield from alternative


def _is_pii(field: Any) -> bool:
    definition = field.extensions.get("strawberry-definition")
    directives = getattr(definition, "directives", None) or ()
    return any(scope.startswith(PII_SCOPE) for scope in _scopes(directives))


class PiiFields:
    def __init__(self, schema: GraphQLSchema) -> None:
        self.schema = schema
        self.outputs = frozenset(
            (name, field_name)
            for name, type_ in schema.type_map.items()
            if not name.startswith("__") and hasattr(type_, "fields") and not isinstance(type_, GraphQLInputObjectType)
            for field_name, field in type_.fields.items()
            if _is_pii(field)
        )
        """Output fields that are PII (``Type.field``)."""
        self.inputs: dict[str, frozenset[str]] = {
            name: frozenset(field_name for field_name, field in type_.fields.items() if _is_pii(field))
            for name, type_ in schema.type_map.items()
            if isinstance(type_, GraphQLInputObjectType)
        }
        """Per input type, its PII fields."""

    def blank(self, document: DocumentNode, variables: Mapping[str, Any] | None) -> dict[str, Any]:
        """``variables`` with every PII value replaced by ``BLANKED``."""
        if not variables:
            return {}
        declared: dict[str, Any] = {}
        for definition in document.definitions:
            for variable in getattr(definition, "variable_definitions", None) or ():
                declared[variable.variable.name.value] = type_from_ast(self.schema, variable.type)
        at_pii = self._variables_at_pii_fields(document)
        return {
            name: BLANKED if name in at_pii else self._blank_value(declared.get(name), value)
            for name, value in variables.items()
        }

    def _blank_value(self, type_: GraphQLInputType | None, value: Any) -> Any:
        if isinstance(type_, GraphQLNonNull):
            type_ = type_.of_type
        if isinstance(type_, GraphQLList):
            items = value if isinstance(value, list) else [value]
            return [self._blank_value(type_.of_type, item) for item in items]
        if not isinstance(type_, GraphQLInputObjectType) or not isinstance(value, dict):
            return value
        pii = self.inputs.get(type_.name, frozenset())
        return {
            key: BLANKED
            if key in pii
            else self._blank_value(type_.fields[key].type if key in type_.fields else None, item)
            for key, item in value.items()
        }

    def _variables_at_pii_fields(self, document: DocumentNode) -> set[str]:
        found: set[str] = set()
        type_info = TypeInfo(self.schema)
        inputs = self.inputs

        class _Finder(Visitor):
            def enter_object_field(self, node: ObjectFieldNode, *_: Any) -> None:
                parent = get_named_type(type_info.get_parent_input_type())
                if (
                    isinstance(node.value, VariableNode)
                    and parent is not None
                    and node.name.value in inputs.get(parent.name, ())
                ):
                    found.add(node.value.name.value)

        visit(document, TypeInfoVisitor(type_info, _Finder()))
        return found
