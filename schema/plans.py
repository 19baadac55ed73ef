"""What the executor may do for a field without graphql-core's generic machinery.

A field plan is derived once per (schema, parent type, field name) from the GraphQL and
Strawberry definitions. It says how a field is read and completed when nothing unusual is
involved:

- ``LeafPlan``: a scalar or enum without arguments, read by Strawberry's default resolver
  (``getattr``), which never looks at the resolve info, or by the ``answered_now`` function its
  resolver declares (below), which answers ``LATER`` where only the resolver may. Common values
  (``str`` for ``String`` and ``ID``, ``bool``, 32-bit ``int``, finite ``float``, members of the
  Python enum) are taken as they are; anything else goes through the type's own
  ``coerce_output_value``.
- ``CompositePlan``: an object, or a list of objects, of a type without ``is_type_of`` (no
  interface to check against), read by the default resolver or by the field's resolver.

Anything else (abstract types, nested lists, introspection, fields under exception handlers) has
no plan and is left to graphql-core. A field with an authorization rule (``schema.authorization``)
is never read without its resolver, which checks the caller.

A resolver may declare that it answers what a memo of the request's context holds for the source
(``from_memo``: the user an ``assignee_id`` names, once the response has met that user); its plan
then lets the executor take a value found there without calling the resolver, which is called,
with its resolve info, only when the memo holds nothing for the key. Likewise a resolver may
declare a function that answers the field without a resolve info where its value is ready
(``answered_now``: a user, an issues page or a subscription's plan the request's loader holds,
fresh); it answers
``LATER`` where the value is not (pending, failed, served stale), and the resolver is called.
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from graphql import (
    GraphQLBoolean,
    GraphQLEnumType,
    GraphQLField,
    GraphQLFieldResolver,
    GraphQLFloat,
    GraphQLID,
    GraphQLInt,
    GraphQLLeafType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLSchema,
    GraphQLString,
    Undefined,
    is_leaf_type,
    is_list_type,
    is_non_null_type,
    is_object_type,
)
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.field import StrawberryField

from schema.authorization import is_guarded
from schema.streamline import InfoOnly, info_only

_INT_MIN: Final = -(2**31)
_INT_MAX: Final = 2**31 - 1

MEMO: Final = "mobius.memo"
NOW: Final = "mobius.now"

Now = Callable[[Any, Any, Mapping[str, Any]], Any]
"""``(source, context, arguments)``: what the field's resolver would answer, or ``LATER``."""

LATER: Final[Any] = object()
"""What an ``answered_now`` function answers where only the field's resolver may answer."""

NOT_PLAIN: Final[Any] = object()
"""A leaf value the plan does not vouch for: graphql-core must complete (and report) it."""

UNDEFINED: Final[Any] = Undefined
ERROR: Final[type[Exception]] = Exception
"""graphql-core's ``Undefined`` and ``Exception`` as constants: compiled, an imported name (or a
builtin) is looked up in the module's globals (or the builtins module) at each use, a ``Final``
one is read natively. The executor tells an error by its type (``issubclass(type(value), ERROR)``):
``isinstance`` also looks up the ``__class__`` attribute of every value that is not one."""


def from_memo(memo: str, key: str) -> dict[str, tuple[str, str]]:
    """Field metadata: what the dict ``memo`` of the request's context holds under the source's
    attribute ``key`` (when it holds anything: not ``None``) is what the field's resolver answers."""
    return {MEMO: (memo, key)}


def answered_now(now: Now) -> dict[str, Now]:
    """Field metadata: ``now(source, context, arguments)`` answers what the field's resolver would
    (the arguments as graphql-core coerces them, defaults included) where that needs no resolve
    info, and ``LATER`` anywhere else; it raises what the resolver would raise for the arguments."""
    return {NOW: now}


@dataclass(frozen=True)
class LeafPlan:
    read: Callable[[Any, str], Any]
    """Strawberry's default resolver (``getattr`` unless configured otherwise)."""
    attribute: str
    leaf_type: GraphQLLeafType
    nullable: bool
    plain: type | None
    """Values of exactly this type are already their own output (``str`` for ``String``)."""
    enum_class: type | None
    enum_names: Mapping[Any, str]
    """For a Strawberry enum: each member of ``enum_class`` by its GraphQL name."""
    exact: type | None
    """``plain`` where any value of that type is output as it is (``str``, ``bool``: no range)."""
    by_getattr: bool
    """``read`` is ``getattr``."""
    enum_texts: dict[str, str]
    """For a Strawberry enum: the GraphQL name of each of its values that is a ``str`` (an upstream
    value holds an enum field as its value: ``"OPEN"``), the first name of a value as graphql-core's
    own look-up keeps it."""
    now: Now | None = None
    """For a leaf with a resolver declared ``answered_now`` (no arguments, not guarded, without
    extensions): that function, which the leaf is read by instead of ``read``; where it answers
    ``LATER``, or a value the plan does not vouch for, the field takes graphql-core's path."""

    def complete(self, value: Any, is_awaitable: Callable[[Any], bool]) -> Any:
        """The output value, ``None`` where null is allowed, or ``NOT_PLAIN`` (for ``LATER`` too)."""
        if value is None:
            return None if self.nullable else NOT_PLAIN
        kind = type(value)
        if kind is self.plain:
            return value if _in_range(value) else NOT_PLAIN
        if kind is self.enum_class:
            return self.enum_names.get(value, NOT_PLAIN)
        if value is LATER or isinstance(value, ERROR) or is_awaitable(value):
            return NOT_PLAIN
        try:
            coerced = self.leaf_type.coerce_output_value(value)
        except Exception:  # graphql-core reports it on its own path
            return NOT_PLAIN
        return NOT_PLAIN if coerced is None or coerced is UNDEFINED else coerced


def _in_range(value: Any) -> bool:
    """A plain value GraphQL can represent (a 32-bit ``Int``, a finite ``Float``)."""
    if type(value) is int:
        return _INT_MIN <= value <= _INT_MAX
    if type(value) is float:
        return math.isfinite(value)
    return True


@dataclass(frozen=True)
class CompositePlan:
    field_def: GraphQLField
    return_type: GraphQLOutputType
    parent_type: GraphQLObjectType
    field_name: str
    read: Callable[[Any, str], Any] | None
    """For a field without a resolver: the default resolver, which needs no resolve info."""
    by_getattr: bool
    """``read`` is ``getattr``."""
    attribute: str
    resolve: GraphQLFieldResolver | None
    """For a field with a resolver: what graphql-core would call."""
    with_info: InfoOnly | None
    """For a streamlined resolver of a method taking Strawberry's ``Info`` alone: that method and
    its field, called without the resolver around them (``schema.streamline.info_only``)."""
    memo: tuple[str, str] | None
    """For a resolver declared ``from_memo`` (and not guarded, without extensions): the context's
    memo and the source's attribute its key is in."""
    now: Now | None
    """For a resolver declared ``answered_now`` (and not guarded, without extensions): that function."""
    has_args: bool
    nullable: bool
    list_type: GraphQLList[Any] | None
    """For a list field: the list type (below any non-null)."""
    item_type: GraphQLOutputType
    item_nullable: bool
    object_type: GraphQLObjectType

    def null_error(self) -> TypeError:
        """graphql-core's error for null in a non-null field (or in a list's non-null items)."""
        return TypeError(f"Cannot return null for non-nullable field {self.parent_type.name}.{self.field_name}.")


FieldPlan = LeafPlan | CompositePlan

_plans: Final[weakref.WeakKeyDictionary[GraphQLSchema, dict[tuple[str, str], FieldPlan | None]]] = (
    weakref.WeakKeyDictionary()
)


def field_plans(schema: GraphQLSchema) -> dict[tuple[str, str], FieldPlan | None]:
    """The plans of one schema by (parent type name, field name), filled as fields are met."""
    plans = _plans.get(schema)
    if plans is None:
        plans = _plans[schema] = {}
    return plans


def plan_field(schema: GraphQLSchema, parent_type: GraphQLObjectType, field_name: str) -> FieldPlan | None:
    field_def = parent_type.fields.get(field_name)
    if field_def is None or field_def.resolve is None:
        return None
    definition = (field_def.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
    strawberry_schema = getattr(schema, "_strawberry_schema", None)
    if not isinstance(definition, StrawberryField) or strawberry_schema is None or strawberry_schema.exception_handlers:
        return None
    nullable = not is_non_null_type(field_def.type)
    inner = field_def.type.of_type if isinstance(field_def.type, GraphQLNonNull) else field_def.type
    basic = definition.is_basic_field and not is_guarded(field_def)  # a guarded field's resolver checks the caller
    if is_leaf_type(inner):
        if field_def.args:
            return None
        if basic:
            return _leaf_plan(definition, inner, nullable, None)
        now = _now(field_def, definition)
        return None if now is None else _leaf_plan(definition, inner, nullable, now)
    return _composite_plan(field_def, definition, parent_type, field_name, basic=basic, nullable=nullable, inner=inner)


def _leaf_plan(definition: StrawberryField, leaf_type: GraphQLLeafType, nullable: bool, now: Now | None) -> LeafPlan:
    plain: type | None = None
    enum_class: type | None = None
    enum_names: dict[Any, str] = {}
    if leaf_type is GraphQLString or leaf_type is GraphQLID:
        plain = str
    elif leaf_type is GraphQLBoolean:
        plain = bool
    elif leaf_type is GraphQLInt:
        plain = int
    elif leaf_type is GraphQLFloat:
        plain = float
    elif isinstance(leaf_type, GraphQLEnumType) and isinstance(getattr(leaf_type, "wrapped_cls", None), type):
        enum_class = leaf_type.wrapped_cls  # type: ignore[attr-defined]  # Strawberry's enum type
        enum_names = _enum_names(leaf_type, enum_class)
    exact = plain if plain is str or plain is bool else None
    read = definition.default_resolver
    return LeafPlan(
        read,
        definition.python_name,
        leaf_type,
        nullable,
        plain,
        enum_class,
        enum_names,
        exact,
        read is getattr and now is None,
        _names_by_text(leaf_type) if enum_class is not None else {},
        now,
    )


def _names_by_text(enum_type: GraphQLLeafType) -> dict[str, str]:
    names: dict[str, str] = {}
    if isinstance(enum_type, GraphQLEnumType):
        for name, enum_value in enum_type.values.items():
            value = name if enum_value.value is None or enum_value.value is Undefined else enum_value.value
            if isinstance(value, str):
                names.setdefault(value, name)
    return names


Leaves = tuple[tuple[str, LeafPlan], ...]
"""Leaf steps read by their attribute (no ``now``): each one's response name and plan."""


def read_leaves(leaves: Leaves, source: Any, is_awaitable: Callable[[Any], bool]) -> dict[str, Any] | None:
    """The output of ``leaves`` read from ``source`` in one go, or None when a value is not plain
    (the executor then reads the object on its general path, which reports it): a value that is
    its own output (a ``str`` for ``String``/``ID``, a ``bool``, a 32-bit ``int``, a member of the
    enum or one of its values as a ``str``, by its name) is kept, any other is completed by its
    plan's ``complete``, as the step loop does."""
    results: dict[str, Any] = {}
    for response_name, plan in leaves:
        value = getattr(source, plan.attribute) if plan.by_getattr else plan.read(source, plan.attribute)
        kind = type(value)
        if kind is plan.exact:
            results[response_name] = value
            continue
        if plan.enum_class is not None:
            if kind is str:
                value = plan.enum_texts.get(value, NOT_PLAIN)
            elif kind is plan.enum_class:
                value = plan.enum_names.get(value, NOT_PLAIN)
            else:
                value = plan.complete(value, is_awaitable)
        elif not (kind is int and plan.plain is int and _INT_MIN <= value <= _INT_MAX):
            value = plan.complete(value, is_awaitable)
        if value is NOT_PLAIN:
            return None
        results[response_name] = value
    return results


def _enum_names(enum_type: GraphQLEnumType, enum_class: Any) -> dict[Any, str]:
    """What Strawberry's enum type answers for each member: the name whose value matches first."""
    names: dict[Any, str] = {}
    for member in enum_class:
        for name, value in enum_type.values.items():
            if value.value == member.value:
                names[member] = name
                break
    return names


def _memo(field_def: GraphQLField, definition: StrawberryField) -> tuple[str, str] | None:
    """The field's ``from_memo`` declaration, where nothing but its resolver would run on a hit
    (no authorization rule, no field extension)."""
    declared = definition.metadata.get(MEMO)
    if declared is None or is_guarded(field_def) or definition.extensions:
        return None
    memo, key = declared
    return memo, key


def _now(field_def: GraphQLField, definition: StrawberryField) -> Now | None:
    """The field's ``answered_now`` function, where nothing but its resolver would run (as ``_memo``)."""
    declared: Now | None = definition.metadata.get(NOW)
    if declared is None or is_guarded(field_def) or definition.extensions:
        return None
    return declared


def _composite_plan(
    field_def: GraphQLField,
    definition: StrawberryField,
    parent_type: GraphQLObjectType,
    field_name: str,
    *,
    basic: bool,
    nullable: bool,
    inner: GraphQLOutputType,
) -> CompositePlan | None:
    list_type: GraphQLList[Any] | None = None
    item_type: GraphQLOutputType = inner
    named: GraphQLOutputType = inner
    if is_list_type(inner):
        list_type = inner
        item_type = inner.of_type
        named = item_type.of_type if isinstance(item_type, GraphQLNonNull) else item_type
    if not is_object_type(named) or named.is_type_of is not None:
        return None
    return CompositePlan(
        field_def=field_def,
        return_type=field_def.type,
        parent_type=parent_type,
        field_name=field_name,
        read=definition.default_resolver if basic else None,
        by_getattr=basic and definition.default_resolver is getattr,
        attribute=definition.python_name,
        resolve=None if basic else field_def.resolve,
        with_info=None if basic or field_def.resolve is None else info_only(field_def.resolve),
        memo=None if basic else _memo(field_def, definition),
        now=None if basic else _now(field_def, definition),
        has_args=bool(field_def.args),
        nullable=nullable,
        list_type=list_type,
        item_type=item_type,
        item_nullable=not is_non_null_type(item_type),
        object_type=named,
    )
