"""graphql-core's executor with a short path for plain leaf fields.

Most fields of a large response are scalars or enums read straight off an object (``id``,
``name``, ``state``). graphql-core treats each like any other field: a resolve-info object, the
field nodes, the arguments, then ``complete_value`` down to the leaf. A Strawberry field without
a resolver, extensions or exception handlers is resolved by Strawberry's default resolver
(``getattr``), which never looks at the info, so here such a field is read and coerced directly.
Anything unusual on that path (null where the type is non-null, an awaitable, an exception, a
value the scalar refuses) falls back to graphql-core's own ``execute_field``, which reads the
attribute again and reports exactly as before: the short path never produces an answer
graphql-core would not.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any, NamedTuple

from graphql import GraphQLLeafType, GraphQLObjectType, GraphQLSchema, Undefined, is_leaf_type, is_non_null_type
from graphql.execution.collect_fields import FieldDetailsList
from graphql.pyutils import AwaitableOrValue, Path, UndefinedType
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import GraphQLCoreConverter
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


class GatewayExecutionContext(StrawberryGraphQLCoreExecutionContext):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        manager = self.middleware_manager
        self._leaf_short_path = manager is None or not manager.middlewares
        """Middleware (a Strawberry extension with a ``resolve`` hook) must see every field."""
        self._leaf_plans = leaf_plans(self.schema)

    def execute_field(
        self,
        parent_type: GraphQLObjectType,
        source: Any,
        field_details_list: FieldDetailsList,
        path: Path,
        position_context: Any,
    ) -> AwaitableOrValue[Any] | UndefinedType:
        if self._leaf_short_path:
            node = field_details_list[0].node
            key = (parent_type.name, node.name.value)
            plans = self._leaf_plans
            plan = plans[key] if key in plans else plans.setdefault(key, _plan_of(self.schema, parent_type, key[1]))
            if plan is not None and not node.arguments:
                value = plan.read(source, plan.attribute)
                if value is None:
                    if plan.nullable:
                        return None
                elif not isinstance(value, Exception) and not self.is_awaitable(value):
                    try:
                        coerced = plan.leaf_type.coerce_output_value(value)
                    except Exception:  # graphql-core reports it on the full path
                        coerced = None
                    if coerced is not None and coerced is not Undefined:
                        return coerced
        return super().execute_field(parent_type, source, field_details_list, path, position_context)
