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
    DirectiveNode,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLSchema,
    InlineFragmentNode,
    ListValueNode,
    ObjectValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValueNode,
    VariableNode,
    get_named_type,
    type_from_ast,
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
        """The variables passed straight to a PII input field, found by one walk of the document
        with the schema's types (graphql-core's ``TypeInfo`` visitors leave reference cycles per call
        for the collector)."""
        found: set[str] = set()
        for definition in document.definitions:
            parent: Any
            if isinstance(definition, OperationDefinitionNode):
                parent = self.schema.get_root_type(definition.operation)
            elif isinstance(definition, FragmentDefinitionNode):
                parent = self.schema.get_type(definition.type_condition.name.value)
            else:
                continue
            self._in_selections(definition.selection_set, parent, found)
        return found

    def _in_selections(self, selections: SelectionSetNode | None, parent: Any, found: set[str]) -> None:
        if selections is None:
            return
        fields = getattr(parent, "fields", None)
        for selection in selections.selections:
            self._in_directives(selection.directives, found)
            if isinstance(selection, FieldNode):
                field = fields.get(selection.name.value) if fields is not None else None
                arguments = field.args if field is not None else {}
                for argument in selection.arguments or ():
                    given = arguments.get(argument.name.value)
                    self._in_value(argument.value, given.type if given is not None else None, found)
                named = get_named_type(field.type) if field is not None else None
                self._in_selections(selection.selection_set, named, found)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                inner = self.schema.get_type(condition.name.value) if condition is not None else parent
                self._in_selections(selection.selection_set, inner, found)

    def _in_directives(self, directives: Iterable[DirectiveNode] | None, found: set[str]) -> None:
        for directive in directives or ():
            declared = self.schema.get_directive(directive.name.value)
            arguments = declared.args if declared is not None else {}
            for argument in directive.arguments or ():
                given = arguments.get(argument.name.value)
                self._in_value(argument.value, given.type if given is not None else None, found)

    def _in_value(self, value: ValueNode, type_: Any, found: set[str]) -> None:
        if isinstance(type_, GraphQLNonNull):
            type_ = type_.of_type
        if isinstance(value, ListValueNode):
            item_type = type_.of_type if isinstance(type_, GraphQLList) else None
            for item in value.values:
                self._in_value(item, item_type, found)
        elif isinstance(value, ObjectValueNode):
            named = get_named_type(type_) if type_ is not None else None
            input_type = named if isinstance(named, GraphQLInputObjectType) else None
            fields = input_type.fields if input_type is not None else {}
            pii = self.inputs.get(input_type.name, frozenset()) if input_type is not None else frozenset()
            for field in value.fields:
                if isinstance(field.value, VariableNode) and field.name.value in pii:
                    found.add(field.value.name.value)
                declared = fields.get(field.name.value)
                self._in_value(field.value, declared.type if declared is not None else None, found)
