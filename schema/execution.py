"""graphql-core's executor with a short path for plain leaf fields.

Most fields of a large response are scalars or enums read straight off an object (``id``,
``name``, ``state``). graphql-core treats each like any other field: a resolve-info object, the
field nodes, the arguments, then ``complete_value`` down to the leaf. A Strawberry field without
a resolver, extensions or exception handlers is resolved by Strawberry's default resolver
(``getattr``), which never looks at the info, so here such a field is read and coerced directly.
Anything unusual on that path (null where the type is non-null, an awaitable, an exception, a
value the scalar refuses) falls back to graphql-core's own ``execute_field``, which reads the
attribute again and reports exactly as before: the short path never produces an answer
graphql-core would not. The short path lives in ``execute_fields``, so a plain leaf costs neither
a response path nor an ``execute_field`` call.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any, NamedTuple

import strawberry
from graphql import (
    GraphQLFieldResolver,
    GraphQLLeafType,
    GraphQLObjectType,
    GraphQLResolveInfo,
    GraphQLSchema,
    Undefined,
    is_leaf_type,
    is_non_null_type,
)
from graphql.execution.collect_fields import GroupedFieldSet
from graphql.pyutils import AwaitableOrValue, Path, gather_with_cancel
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types import Info
from strawberry.types.field import StrawberryField


class LeafPlan(NamedTuple):
    read: Callable[[Any, str], Any]
    """Strawberry's default resolver (``getattr`` unless configured otherwise)."""
    attribute: str
    leaf_type: GraphQLLeafType
    nullable: bool


LeafPlans = dict[tuple[str, str], LeafPlan | None]
"""By (parent type name, field name); None for a field that needs the full executor."""

_plans: weakref.WeakKeyDictionary[GraphQLSchema, LeafPlans] = weakref.WeakKeyDictionary()


def leaf_plans(schema: GraphQLSchema) -> LeafPlans:
    plans = _plans.get(schema)
    if plans is None:
        plans = _plans[schema] = {}
    return plans


def _plan_of(schema: GraphQLSchema, parent_type: GraphQLObjectType, field_name: str) -> LeafPlan | None:
    field_def = parent_type.fields.get(field_name)
    if field_def is None or field_def.args or field_def.resolve is None:
        return None
    definition = (field_def.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
    strawberry_schema = getattr(schema, "_strawberry_schema", None)
    if (
        not isinstance(definition, StrawberryField)
        or not definition.is_basic_field
        or strawberry_schema is None
        or strawberry_schema.exception_handlers
    ):
        return None
    nullable = not is_non_null_type(field_def.type)
    leaf = field_def.type if nullable else field_def.type.of_type
    if not is_leaf_type(leaf):
        return None
    return LeafPlan(definition.default_resolver, definition.python_name, leaf, nullable)


FULL_PATH: Any = object()
"""A leaf the short path leaves to graphql-core."""


class GatewayExecutionContext(StrawberryGraphQLCoreExecutionContext):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        manager = self.middleware_manager
        self._leaf_short_path = manager is None or not manager.middlewares
        """Middleware (a Strawberry extension with a ``resolve`` hook) must see every field."""
        self._leaf_plans = leaf_plans(self.schema)

    def execute_fields(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path | None,
        grouped_field_set: GroupedFieldSet,
        position_context: Any,
    ) -> AwaitableOrValue[dict[str, Any]]:
        """graphql-core's ``execute_fields``, reading plain leaf fields in the loop itself."""
        if not self._leaf_short_path:
            return super().execute_fields(parent_type, source_value, path, grouped_field_set, position_context)
        results: dict[str, Any] = {}
        is_awaitable = self.is_awaitable
        awaitable_fields: list[str] = []
        plans = self._leaf_plans
        type_name = parent_type.name
        try:
            for response_name, field_details_list in grouped_field_set.items():
                node = field_details_list[0].node
                key = (type_name, node.name.value)
                plan = plans[key] if key in plans else plans.setdefault(key, _plan_of(self.schema, parent_type, key[1]))
                if plan is not None and not node.arguments:
                    value = _leaf_value(plan, source_value, is_awaitable)
                    if value is not FULL_PATH:
                        results[response_name] = value
                        continue
                field_path = Path(path, response_name, type_name)
                result = self.execute_field(parent_type, source_value, field_details_list, field_path, position_context)
                if result is not Undefined:
                    results[response_name] = result
                    if is_awaitable(result):
                        awaitable_fields.append(response_name)
        except Exception:
            if awaitable_fields:
                self.settle_in_background([results[field] for field in awaitable_fields])
            raise
        if not awaitable_fields:
            return results
        return _await_fields(results, awaitable_fields)


def _leaf_value(plan: LeafPlan, source: Any, is_awaitable: Callable[[Any], bool]) -> Any:
    """The completed value, or ``FULL_PATH`` when graphql-core must handle the field."""
    value = plan.read(source, plan.attribute)
    if value is None:
        return None if plan.nullable else FULL_PATH
    if isinstance(value, Exception) or is_awaitable(value):
        return FULL_PATH
    try:
        coerced = plan.leaf_type.coerce_output_value(value)
    except Exception:  # graphql-core reports it on the full path
        return FULL_PATH
    return FULL_PATH if coerced is None or coerced is Undefined else coerced


async def _await_fields(results: dict[str, Any], awaitable_fields: list[str]) -> dict[str, Any]:
    if len(awaitable_fields) == 1:
        field = awaitable_fields[0]
        results[field] = await results[field]
    else:
        awaited = await gather_with_cancel(*(results[field] for field in awaitable_fields))
        results.update(zip(awaitable_fields, awaited, strict=True))
    return results


def streamline_resolvers(schema: strawberry.Schema) -> None:
    """Call resolvers that take only ``self`` and ``info`` without Strawberry's generic wrapper.

    For a field without arguments, extensions or exception handlers, Strawberry's wrapper converts
    no arguments and runs no hooks: it builds the ``Info`` and calls the method. The replacement
    does just that (graphql-core awaits what an async method returns), which saves several calls
    per resolved ``owner``, ``assignee`` and the like.
    """
    if schema.exception_handlers:
        return
    info_class = schema.config.info_class
    for graphql_type in schema._schema.type_map.values():
        if not isinstance(graphql_type, GraphQLObjectType) or graphql_type.name.startswith("__"):
            continue
        for field_def in graphql_type.fields.values():
            definition = (field_def.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
            if isinstance(definition, StrawberryField) and not field_def.args:
                lean = _lean_resolver(definition, info_class)
                if lean is not None:
                    field_def.resolve = lean


def _lean_resolver(field: StrawberryField, info_class: type[Info[Any, Any]]) -> GraphQLFieldResolver | None:
    resolver = field.base_resolver
    if resolver is None or field.extensions or field.arguments:
        return None
    self_parameter, info_parameter = resolver.self_parameter, resolver.info_parameter
    if self_parameter is None or info_parameter is None or not callable(resolver.wrapped_func):
        return None
    if list(resolver.signature.parameters) != [self_parameter.name, info_parameter.name]:
        return None
    method = resolver.wrapped_func

    def resolve(source: Any, info: GraphQLResolveInfo[Any]) -> Any:
        return method(source, info_class(_raw_info=info, _field=field))

    return resolve
