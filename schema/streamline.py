"""Resolvers called without Strawberry's generic wrapper where the wrapper would do nothing.

For a field without extensions (and a schema without exception handlers), Strawberry's wrapper
builds the ``Info``, converts the arguments and calls the method; an ``async`` method gets one
more coroutine around it. When every argument is a scalar or an enum (or a list of them),
graphql-core has already coerced it to its Python value and Strawberry's conversion only renames
it (and copies a list, so a shared default is never handed out). The replacement does just that,
which saves several calls per resolved ``owner``, ``assignee`` or ``issues``.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any, Final

import strawberry
from graphql import (
    GraphQLArgument,
    GraphQLField,
    GraphQLFieldResolver,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLResolveInfo,
    is_leaf_type,
)
from strawberry.relay import GlobalID
from strawberry.schema.config import StrawberryConfig
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.arguments import StrawberryArgument
from strawberry.types.base import StrawberryList, StrawberryMaybe, StrawberryOptional
from strawberry.types.field import StrawberryField
from strawberry.types.info import Info


def streamline_resolvers(schema: strawberry.Schema) -> None:
    """Replace the resolver of every field whose Strawberry wrapper would only rename and call
    (not a subscription's: its resolver is ``subscribe``, ``resolve`` passes each event on)."""
    if schema.exception_handlers:
        return
    for graphql_type in schema._schema.type_map.values():
        if not isinstance(graphql_type, GraphQLObjectType) or graphql_type.name.startswith("__"):
            continue
        for field_def in graphql_type.fields.values():
            definition = (field_def.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
            if isinstance(definition, StrawberryField) and not definition.is_subscription:
                lean = _lean_resolver(definition, field_def, schema.config)
                if lean is not None:
                    field_def.resolve = lean


def _lean_resolver(
    field: StrawberryField, field_def: GraphQLField, config: StrawberryConfig
) -> GraphQLFieldResolver | None:
    resolver = field.base_resolver
    if resolver is None or field.extensions or not callable(resolver.wrapped_func):
        return None
    self_parameter, info_parameter = resolver.self_parameter, resolver.info_parameter
    if self_parameter is None:
        return None
    names: dict[str, str] = {}
    lists: set[str] = set()
    for argument in field.arguments:
        graphql_name = config.name_converter.from_argument(argument)
        kind = _argument_kind(argument, field_def.args.get(graphql_name))
        if kind is None:
            return None
        names[graphql_name] = argument.python_name
        if kind is list:
            lists.add(graphql_name)
    expected = [self_parameter.name, *([info_parameter.name] if info_parameter else []), *names.values()]
    if sorted(resolver.signature.parameters) != sorted(expected):
        return None
    method = resolver.wrapped_func
    build_info = _info_builder(config.info_class)
    if info_parameter is not None and list(resolver.signature.parameters) == expected[:2] and not names:
        resolve_with_info = _with_info_only(method, build_info, field)
        if config.info_class is Info:
            _info_only[resolve_with_info] = (method, field)
        return resolve_with_info
    info_name = info_parameter.name if info_parameter is not None else None

    def resolve(source: Any, info: GraphQLResolveInfo[Any], **kwargs: Any) -> Any:
        arguments = {
            names[name]: list(value) if name in lists and value is not None else value for name, value in kwargs.items()
        }
        if info_name is not None:
            arguments[info_name] = build_info(info, field)
        return method(source, **arguments)

    return resolve


InfoBuilder = Callable[[GraphQLResolveInfo[Any], StrawberryField], Info]


def _info_builder(info_class: type[Info]) -> InfoBuilder:
    """How the streamlined resolvers build the ``Info`` their method takes. Strawberry's own
    ``Info`` (a dataclass of its raw info and field) is filled in without its generated
    ``__init__``: the same object for a fraction of the calls; any other class is called as
    Strawberry calls it."""
    if info_class is not Info:
        return lambda info, field: info_class(_raw_info=info, _field=field)
    new = object.__new__

    def build(info: GraphQLResolveInfo[Any], field: StrawberryField) -> Info:
        built = new(Info)
        built._raw_info = info
        built._field = field
        return built

    return build


InfoOnly = tuple[Callable[[Any, Info], Any], StrawberryField]
"""A method that takes Strawberry's own ``Info`` alone, and the field the ``Info`` is built for."""

_info_only: Final[weakref.WeakKeyDictionary[GraphQLFieldResolver, InfoOnly]] = weakref.WeakKeyDictionary()


def info_only(resolve: GraphQLFieldResolver) -> InfoOnly | None:
    """What a streamlined resolver of a method taking only Strawberry's own ``Info`` calls (the
    executor calls it with an ``Info`` it fills in as ``_info_builder``'s does); None for any other."""
    return _info_only.get(resolve)


def _with_info_only(
    method: Callable[..., Any], build_info: InfoBuilder, field: StrawberryField
) -> GraphQLFieldResolver:
    def resolve(source: Any, info: GraphQLResolveInfo[Any]) -> Any:
        return method(source, build_info(info, field))

    return resolve


def _argument_kind(argument: StrawberryArgument, graphql_argument: GraphQLArgument | None) -> type | None:
    """``object`` for a value taken as it is, ``list`` for a list to copy, None when Strawberry's
    own conversion is needed (input objects, ``Maybe``, global ids)."""
    if graphql_argument is None or isinstance(argument.type, StrawberryMaybe):
        return None
    python_type: Any = argument.type
    while isinstance(python_type, StrawberryOptional):
        python_type = python_type.of_type
    graphql_type = _nullable(graphql_argument.type)
    if isinstance(graphql_type, GraphQLList):
        item = python_type.of_type if isinstance(python_type, StrawberryList) else None
        while isinstance(item, StrawberryOptional):
            item = item.of_type
        if item is None or item is GlobalID or not is_leaf_type(_nullable(graphql_type.of_type)):
            return None
        return list
    if python_type is GlobalID or not is_leaf_type(graphql_type):
        return None
    return object


def _nullable(graphql_type: Any) -> Any:
    return graphql_type.of_type if isinstance(graphql_type, GraphQLNonNull) else graphql_type
