"""What a query selects below a field, read before the field's children run, for the two general
speed-ups a field can declare (as Strawberry field metadata):

- ``read_ahead(start)``: the field's read needs only its parent's key and its own arguments, so it
  is started together with the read of any parent resolved by key (``organization(id:)``,
  ``project(id:)``, federation ``_entities``, ``User.organization``...): one round trip saved.
- ``read_from(start)``: the field's read needs only what its parent's value holds (a foreign key)
  and its own arguments, so it is started as soon as the read that brought its parents is
  answered, for all of them at once, before the fields waiting for that answer resume: the next
  level goes upstream without waiting for the executor to complete the answer's subtree. A read
  started ahead (or from an answer) says what its answer is as the field's value with ``then``,
  and the selection below it is walked from there: through fields without a resolver (a
  connection's ``nodes``), into the answers of fields that declare ``then`` themselves.
- ``pushdown(build)``: the field can travel inside its parent's upstream request (a GraphQL
  upstream's nested selection); the parent's read carries what ``build`` makes of its arguments.

A read is started ahead or from an answer by ``schema.early_reads``; the selection below a field is
read with ``schema.selection_walk``. Arguments that do not coerce, or that ``start``/``build``
refuse, are left for the field to report when it runs.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    GraphQLField,
    GraphQLObjectType,
    GraphQLResolveInfo,
    GraphQLSchema,
    get_named_type,
)

from clients.memo import keep
from resolvers.errors import InvalidArgument
from resolvers.loaders import Loaders
from schema.authorization import is_guarded
from schema.collected import has_variable
from schema.selection_walk import Conditional, On, Walk, coerced_arguments, included, uses_variables, walk_nodes

Start = Callable[[Loaders, str, Mapping[str, Any], "Selection"], object]
StartFrom = Callable[[Loaders, Sequence[Any], Mapping[str, Any], "Selection"], Sequence["asyncio.Future[Any]"]]
Then = Callable[[Any], object]
Build = Callable[[Mapping[str, Any]], object]

READ_AHEAD = "mobius.read_ahead"
READ_FROM = "mobius.read_from"
PUSHDOWN = "mobius.pushdown"


@dataclass(frozen=True, slots=True)
class Ahead:
    """A ``read_ahead`` declaration."""

    start: Start
    then: Then | None


@dataclass(frozen=True, slots=True)
class From:
    """A ``read_from`` declaration."""

    start: StartFrom
    then: Then | None


def read_ahead(start: Start, *, then: Then | None = None) -> dict[str, Ahead]:
    """Field metadata: start this field's read from its parent's key, its arguments and its own
    selection (``start(loaders, parent_key, arguments, selection)``, which may raise
    ``InvalidArgument`` for arguments the field will refuse). ``then(answer)`` is the read's
    (found) answer as the field's value: the reads its selection declares ``read_from`` start from
    it as soon as it is in (``None``: nothing to start from)."""
    return {READ_AHEAD: Ahead(start, then)}


def read_from(start: StartFrom, *, then: Then | None = None) -> dict[str, From]:
    """Field metadata: start this field's read, for every parent an answer brought, from those
    parents' values (``start(loaders, parents, arguments, selection)``: the futures of what it
    started, in any order; ``InvalidArgument`` for arguments the field will refuse). ``then`` as
    for ``read_ahead``, for the answers of those futures. A field with an authorization rule
    never declares it: no read is started for a field before its rule is checked."""
    return {READ_FROM: From(start, then)}


def pushdown(build: Build) -> dict[str, Build]:
    """Field metadata: this field travels inside its parent's upstream request, as ``build(arguments)``."""
    return {PUSHDOWN: build}


class Selection:
    """The field nodes of one response key, and the object type its selection is made of (a plain
    class, not a dataclass: one is made per field walked, and compiled, a dataclass's generated
    ``__init__`` runs interpreted)."""

    __slots__ = ("nodes", "type", "walk")

    def __init__(self, nodes: tuple[FieldNode, ...], type: GraphQLObjectType, walk: Walk) -> None:
        self.nodes = nodes
        self.type = type
        self.walk = walk

    @classmethod
    def of(cls, info: GraphQLResolveInfo[Any]) -> Selection:
        """The selection of the field being resolved, made of its return type."""
        named = get_named_type(info.return_type)
        assert isinstance(named, GraphQLObjectType)
        return cls(tuple(info.field_nodes), named, Walk.of(info))

    def below(self, field: str) -> Selection | None:
        """The selection of ``field`` (e.g. a connection's ``nodes``), all its response keys merged."""
        walk = self.walk
        found, fixed = _below(self.nodes, self.type.name, field, walk)
        nodes = (
            fixed
            if fixed is not None
            else tuple(node for node, conditions in found if all(included(c, walk) for c in conditions))
        )
        if not nodes:
            return None
        named = get_named_type(self.type.fields[field].type)
        assert isinstance(named, GraphQLObjectType)
        return Selection(nodes, named, self.walk)

    def declared(self, kind: str) -> list[tuple[Any, Mapping[str, Any], Selection]]:
        """Each selected field (per response key) that declares ``kind``: its declaration, its
        coerced arguments and its own selection; fields whose arguments do not coerce are left out."""
        walk = self.walk
        found = []
        for item in _plan(self.nodes, self.type, kind, walk.schema, walk.fragments):
            nodes = item.selected(walk)
            if not nodes:
                continue
            arguments = item.arguments if item.arguments is not None else coerced_arguments(item.field, nodes[0], walk)
            if arguments is None:
                continue
            found.append((item.declared, arguments, Selection(nodes, item.type or self.type, walk)))
        return found

    def descents(self) -> list[tuple[str, Selection]]:
        """The selected fields without a resolver (read as the parent's attribute) below which a
        field declares ``read_from``: the attribute and the field's selection, per response key."""
        walk = self.walk
        found = []
        for item in _plan(self.nodes, self.type, _DESCENT, walk.schema, walk.fragments):
            nodes = item.selected(walk)
            if nodes and item.type is not None:
                found.append((item.declared, Selection(nodes, item.type, walk)))
        return found

    def pushed_down(self, through: str) -> tuple[Any, ...]:
        """What the fields selected below ``through`` (a connection's ``nodes``) that declare
        ``pushdown`` make of their arguments, distinct, in query order; arguments they refuse are
        left for the fields to report. Kept per set of nodes when none of it depends on the request's
        variables (no condition, no argument that uses one): ``build`` makes the same of the same
        arguments."""
        key = _key(self.nodes, self.type.name, through)
        hit = _pushed.get(key)
        if hit is not None:
            return hit[1]
        walk = self.walk
        _, fixed = _below(self.nodes, self.type.name, through, walk)
        below = self.below(through)
        if below is None:
            return ()
        found: dict[Any, None] = {}
        for build, arguments, _ in below.declared(PUSHDOWN):
            try:
                found[build(arguments)] = None
            except InvalidArgument:
                continue
        pushed = tuple(found)
        items = _plan(below.nodes, below.type, PUSHDOWN, walk.schema, walk.fragments)
        if fixed is not None and all(item.fixed is not None and item.arguments is not None for item in items):
            keep(_pushed, key, (self.nodes, pushed), _PLANS_MAX)  # the nodes are held: their ids stay unique
        return pushed


@dataclass(frozen=True, slots=True)
class _Item:
    field: GraphQLField
    declared: Any
    nodes: tuple[tuple[FieldNode, tuple[Conditional, ...]], ...]
    """Each node of the response key with the conditions that depend on variables (literal ones were applied)."""
    arguments: Mapping[str, Any] | None
    """Coerced once when literal; else per request."""
    fixed: tuple[FieldNode, ...] | None
    """The nodes, when no condition depends on variables; else ``None`` (filtered per request)."""
    type: GraphQLObjectType | None
    """The field's object type (``None``: not an object type)."""

    def selected(self, walk: Walk) -> tuple[FieldNode, ...]:
        """The nodes this request selects (its variables applied to the conditions)."""
        if self.fixed is not None:
            return self.fixed
        return tuple(node for node, conditions in self.nodes if all(included(c, walk) for c in conditions))


_PLANS_MAX = 512
_plans: dict[tuple[object, ...], tuple[tuple[FieldNode, ...], tuple[_Item, ...]]] = {}


def _plan(
    nodes: tuple[FieldNode, ...],
    parent: GraphQLObjectType,
    kind: str,
    schema: GraphQLSchema,
    fragments: Mapping[str, FragmentDefinitionNode],
) -> tuple[_Item, ...]:
    key = _key(nodes, parent.name, kind)
    hit = _plans.get(key)
    if hit is not None:
        return hit[1]
    by_key: dict[str, list[tuple[FieldNode, tuple[Conditional, ...]]]] = {}
    for node, conditions in walk_nodes(nodes, None, fragments, On(schema, parent.name)):
        field = parent.fields.get(node.name.value)
        if field is None or _declared(field, kind) is None:
            continue
        if not all(included(c, None) for c in conditions if not uses_variables(c)):
            continue
        dynamic = tuple(c for c in conditions if uses_variables(c))
        by_key.setdefault(node.alias.value if node.alias else node.name.value, []).append((node, dynamic))
    items = []
    for entries in by_key.values():
        first = entries[0][0]
        field = parent.fields[first.name.value]
        literal = not any(has_variable(argument.value) for argument in first.arguments or ())
        arguments = coerced_arguments(field, first, None) if literal else None
        if literal and arguments is None:
            continue
        fixed = None if any(conditions for _, conditions in entries) else tuple(node for node, _ in entries)
        named = get_named_type(field.type)
        object_type = named if isinstance(named, GraphQLObjectType) else None
        items.append(_Item(field, _declared(field, kind), tuple(entries), arguments, fixed, object_type))
    return keep(_plans, key, (nodes, tuple(items)), _PLANS_MAX)[1]  # the nodes are held: their ids stay unique


def _key(nodes: tuple[FieldNode, ...], name: str, kind: str) -> tuple[object, ...]:
    """A cache key for ``nodes`` (by identity; nearly always one node) with two names."""
    if len(nodes) == 1:
        return (id(nodes[0]), name, kind)
    return (*[id(node) for node in nodes], name, kind)


_pushed: dict[tuple[object, ...], tuple[tuple[FieldNode, ...], tuple[Any, ...]]] = {}
"""``Selection.pushed_down`` by nodes, type and field, where it does not depend on the request."""


_Found = tuple[tuple[FieldNode, tuple[Conditional, ...]], ...]
_belows: dict[tuple[object, ...], tuple[tuple[FieldNode, ...], _Found, tuple[FieldNode, ...] | None]] = {}


def _below(
    nodes: tuple[FieldNode, ...], type_name: str, field: str, walk: Walk
) -> tuple[_Found, tuple[FieldNode, ...] | None]:
    """The nodes of ``field`` below ``nodes`` (made of ``type_name``), each with its conditions, and
    those nodes alone when none has a condition; walked once per set of nodes, as ``_plan`` is."""
    key = _key(nodes, type_name, field)
    hit = _belows.get(key)
    if hit is None:
        found = tuple(walk_nodes(nodes, field, walk.fragments, On(walk.schema, type_name)))
        fixed = None if any(conditions for _, conditions in found) else tuple(node for node, _ in found)
        hit = keep(_belows, key, (nodes, found, fixed), _PLANS_MAX)  # the nodes are held: their ids stay unique
    return hit[1], hit[2]


def declares(nodes: tuple[FieldNode, ...], parent: GraphQLObjectType, kind: str, info: GraphQLResolveInfo[Any]) -> bool:
    """Whether a field selected below ``nodes`` (the field nodes of ``info``, made of ``parent``)
    declares ``kind`` (one cached look-up once the selection has been met)."""
    return bool(_plan(nodes, parent, kind, info.schema, info.fragments))


_DESCENT = "descent"
"""The ``_plan`` kind of the fields ``schema.early_reads.start_reads_from`` walks through (``Selection.descents``)."""


def _declared(field: GraphQLField, kind: str) -> Any:
    """What ``field`` declares of ``kind`` (``None``: nothing). For ``_DESCENT``: the attribute a
    field without a resolver is read from, when a field below it declares ``read_from``. A field
    with an authorization rule is neither read from nor walked through."""
    if kind == _DESCENT:
        return None if is_guarded(field) else _descent(field)
    if kind == READ_FROM and is_guarded(field):
        return None
    return _metadata(field).get(kind)


def _descent(field: GraphQLField) -> str | None:
    definition = (field.extensions or {}).get("strawberry-definition")
    if definition is None or getattr(definition, "base_resolver", None) is not None:
        return None
    named = get_named_type(field.type)
    if not isinstance(named, GraphQLObjectType) or not reaches(named):
        return None
    attribute: str = definition.python_name
    return attribute


_reach: dict[GraphQLObjectType, bool] = {}


def reaches(type_: GraphQLObjectType) -> bool:
    """Whether a field of ``type_``, or below its fields without a resolver, declares ``read_from``
    (once per type; a type met again on the way counts as not reaching)."""
    found = _reach.get(type_)
    if found is None:
        _reach[type_] = False
        found = _reach[type_] = any(
            not is_guarded(field) and (READ_FROM in _metadata(field) or _descent(field) is not None)
            for field in type_.fields.values()
        )
    return found


_level: dict[GraphQLObjectType, int] = {}


def levels(type_: GraphQLObjectType) -> int:
    """The longest chain of ``read_from`` reads declared from ``type_`` down (once per type; a type
    met again on the way counts as none)."""
    found = _level.get(type_)
    if found is None:
        _level[type_] = 0
        deepest = 0
        for field in type_.fields.values():
            named = get_named_type(field.type)
            below = levels(named) if isinstance(named, GraphQLObjectType) else 0
            declared = None if is_guarded(field) else _metadata(field).get(READ_FROM)
            if isinstance(declared, From):
                deepest = max(deepest, 1 + (below if declared.then is not None else 0))
            elif _descent(field) is not None:
                deepest = max(deepest, below)
        found = _level[type_] = deepest
    return found


def _metadata(field: GraphQLField) -> Mapping[Any, Any]:
    definition = (field.extensions or {}).get("strawberry-definition")
    metadata = getattr(definition, "metadata", None)
    return metadata if isinstance(metadata, Mapping) else {}
