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

Selections are read through aliases, fragments and inline fragments, with ``@skip``/``@include``
and variables applied; arguments that do not coerce, or that ``start``/``build`` refuse, are left
for the field to report when it runs. The walk over the document is done once per set of field
nodes (parsed documents are cached, so their nodes are the same objects from one request to the
next) with literal arguments and conditions settled then; per request only what uses variables is
evaluated.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator, Mapping, Sequence
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
    get_named_type,
)
from graphql.execution.values import VariableValues, get_argument_values, get_directive_values
from strawberry.types.nodes import get_variable_values

from resolvers.errors import InvalidArgument
from resolvers.loaders import Loaders, when_done
from schema.authorization import is_guarded
from schema.collected import has_variable

Conditional = FieldNode | InlineFragmentNode | FragmentSpreadNode
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


@dataclass(frozen=True, slots=True)
class Walk:
    """What a selection is read with: the schema, the document's fragments, the request's variables."""

    schema: GraphQLSchema
    fragments: Mapping[str, FragmentDefinitionNode]
    variables: VariableValues

    @classmethod
    def of(cls, info: GraphQLResolveInfo[Any]) -> Walk:
        variables = VariableValues(sources={}, coerced=get_variable_values(info))  # Strawberry passes the plain dict
        return cls(info.schema, info.fragments, variables)


@dataclass(frozen=True, slots=True)
class Selection:
    """The field nodes of one response key, and the object type its selection is made of."""

    nodes: tuple[FieldNode, ...]
    type: GraphQLObjectType
    walk: Walk

    @classmethod
    def of(cls, info: GraphQLResolveInfo[Any]) -> Selection:
        """The selection of the field being resolved, made of its return type."""
        named = get_named_type(info.return_type)
        assert isinstance(named, GraphQLObjectType)
        return cls(tuple(info.field_nodes), named, Walk.of(info))

    def below(self, field: str) -> Selection | None:
        """The selection of ``field`` (e.g. a connection's ``nodes``), all its response keys merged."""
        walk = self.walk
        found = _walk_nodes(self.nodes, field, walk.fragments, _On(walk.schema, self.type.name))
        nodes = tuple(node for node, conditions in found if all(_included(c, walk) for c in conditions))
        if not nodes:
            return None
        named = get_named_type(self.type.fields[field].type)
        assert isinstance(named, GraphQLObjectType)
        return Selection(nodes, named, self.walk)

    def declared(self, kind: str) -> Iterator[tuple[Any, Mapping[str, Any], Selection]]:
        """Each selected field (per response key) that declares ``kind``: its declaration, its
        coerced arguments and its own selection; fields whose arguments do not coerce are left out."""
        walk = self.walk
        for item in _plan(self.nodes, self.type, kind, walk.schema, walk.fragments):
            nodes = item.selected(walk)
            if not nodes:
                continue
            arguments = item.arguments if item.arguments is not None else _arguments(item.field, nodes[0], walk)
            if arguments is None:
                continue
            yield item.declared, arguments, Selection(nodes, item.type or self.type, walk)

    def descents(self) -> Iterator[tuple[str, Selection]]:
        """The selected fields without a resolver (read as the parent's attribute) below which a
        field declares ``read_from``: the attribute and the field's selection, per response key."""
        walk = self.walk
        for item in _plan(self.nodes, self.type, _DESCENT, walk.schema, walk.fragments):
            nodes = item.selected(walk)
            if nodes and item.type is not None:
                yield item.declared, Selection(nodes, item.type, walk)

    def pushed_down(self, through: str) -> tuple[Any, ...]:
        """What the fields selected below ``through`` (a connection's ``nodes``) that declare
        ``pushdown`` make of their arguments, distinct, in query order; arguments they refuse are
        left for the fields to report."""
        below = self.below(through)
        if below is None:
            return ()
        found: dict[Any, None] = {}
        for build, arguments, _ in below.declared(PUSHDOWN):
            try:
                found[build(arguments)] = None
            except InvalidArgument:
                continue
        return tuple(found)


def start_reads_ahead(loaders: Loaders, parent_key: str, info: GraphQLResolveInfo[Any], type_name: str) -> None:
    """Start every field of the selection of ``info`` (a parent of type ``type_name``) that declares
    ``read_ahead``, with the read of the parent resolved by ``parent_key``; the fields that ask for
    them later get the same futures. For a parent that turns out not to exist they are wasted reads,
    answered by nobody. A selection without such fields costs one cached look-up (a list of users'
    organizations resolves this once per user)."""
    parent = info.schema.get_type(type_name)
    assert isinstance(parent, GraphQLObjectType)
    nodes = tuple(info.field_nodes)
    if not _plan(nodes, parent, READ_AHEAD, info.schema, info.fragments):
        return
    declared = list(Selection(nodes, parent, Walk.of(info)).declared(READ_AHEAD))
    declared.sort(key=_levels_below, reverse=True)
    ahead: Ahead
    for ahead, arguments, below in declared:
        try:
            started = ahead.start(loaders, parent_key, arguments, below)
        except InvalidArgument:
            continue
        add_done_callback = getattr(started, "add_done_callback", None)
        if add_done_callback is not None:
            add_done_callback(_retrieve)
        if ahead.then is not None and isinstance(started, asyncio.Future) and _reaches(below.type):
            loaders.then(started, _Continue(loaders, ahead.then, below))


def _levels_below(declared: tuple[Ahead, Mapping[str, Any], Selection]) -> int:
    """How many levels of reads a read ahead's answer leads to, as its type declares them: the
    read with the longest chain behind it is started (and goes upstream) first."""
    ahead, _, below = declared
    return 0 if ahead.then is None else _levels(below.type)


def start_reads_from(loaders: Loaders, parents: Sequence[Any], selection: Selection) -> None:
    """Start the reads that ``selection`` (made of the parents' type) declares ``read_from``, for
    all ``parents`` at once, and go on below: through its fields without a resolver, and into the
    answers of the fields that declare ``then`` (at once for those already in, else when all are)."""
    if not parents or loaders.released:
        return
    declared: From
    for declared, arguments, below in selection.declared(READ_FROM):
        try:
            started = declared.start(loaders, parents, arguments, below)
        except InvalidArgument:
            continue
        if declared.then is not None and started and _reaches(below.type):
            _when_answered(loaders, started, declared.then, below)
    for attribute, below in selection.descents():
        values: list[Any] = []
        for parent in parents:
            value = getattr(parent, attribute)
            if isinstance(value, list):
                values.extend(value)
            elif value is not None:
                values.append(value)
        start_reads_from(loaders, values, below)


@dataclass(frozen=True, slots=True)
class _Continue:
    """What a read's answer leads to: the reads its field's selection declares, from its value."""

    loaders: Loaders
    then: Then
    selection: Selection

    def __call__(self, answer: Any) -> None:
        value = self.then(answer)
        if value is not None:
            start_reads_from(self.loaders, [value], self.selection)


def _when_answered(loaders: Loaders, futures: Sequence[asyncio.Future[Any]], then: Then, below: Selection) -> None:
    when_done(futures, lambda: start_reads_from(loaders, _values(futures, then), below))


def _values(futures: Sequence[asyncio.Future[Any]], then: Then) -> list[Any]:
    """The field values of the found answers (a failed or missing one is its field's to report)."""
    values = []
    for future in futures:
        if future.cancelled() or future.exception() is not None:
            continue
        answer = future.result()
        value = None if answer is None else then(answer)
        if value is not None:
            values.append(value)
    return values


def _retrieve(future: Any) -> None:
    """A read nobody asks for after all (the parent was not found) is not a lost error."""
    if not future.cancelled():
        future.exception()


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
        return tuple(node for node, conditions in self.nodes if all(_included(c, walk) for c in conditions))


_PLANS_MAX = 512
_plans: dict[tuple[object, ...], tuple[tuple[FieldNode, ...], tuple[_Item, ...]]] = {}


def _plan(
    nodes: tuple[FieldNode, ...],
    parent: GraphQLObjectType,
    kind: str,
    schema: GraphQLSchema,
    fragments: Mapping[str, FragmentDefinitionNode],
) -> tuple[_Item, ...]:
    key = (*map(id, nodes), parent.name, kind)
    hit = _plans.get(key)
    if hit is not None:
        return hit[1]
    by_key: dict[str, list[tuple[FieldNode, tuple[Conditional, ...]]]] = {}
    for node, conditions in _walk_nodes(nodes, None, fragments, _On(schema, parent.name)):
        field = parent.fields.get(node.name.value)
        if field is None or _declared(field, kind) is None:
            continue
        if not all(_included(c, None) for c in conditions if not _uses_variables(c)):
            continue
        dynamic = tuple(c for c in conditions if _uses_variables(c))
        by_key.setdefault(node.alias.value if node.alias else node.name.value, []).append((node, dynamic))
    items = []
    for entries in by_key.values():
        first = entries[0][0]
        field = parent.fields[first.name.value]
        literal = not any(has_variable(argument.value) for argument in first.arguments or ())
        arguments = _arguments(field, first, None) if literal else None
        if literal and arguments is None:
            continue
        fixed = None if any(conditions for _, conditions in entries) else tuple(node for node, _ in entries)
        named = get_named_type(field.type)
        object_type = named if isinstance(named, GraphQLObjectType) else None
        items.append(_Item(field, _declared(field, kind), tuple(entries), arguments, fixed, object_type))
    if len(_plans) >= _PLANS_MAX:
        _plans.clear()
    _plans[key] = (nodes, tuple(items))  # the nodes are held so that their ids are not reused meanwhile
    return tuple(items)


_DESCENT = "descent"
"""The ``_plan`` kind of the fields ``start_reads_from`` walks through (``Selection.descents``)."""


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
    if not isinstance(named, GraphQLObjectType) or not _reaches(named):
        return None
    attribute: str = definition.python_name
    return attribute


_reach: dict[GraphQLObjectType, bool] = {}


def _reaches(type_: GraphQLObjectType) -> bool:
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


def _levels(type_: GraphQLObjectType) -> int:
    """The longest chain of ``read_from`` reads declared from ``type_`` down (once per type; a type
    met again on the way counts as none)."""
    found = _level.get(type_)
    if found is None:
        _level[type_] = 0
        deepest = 0
        for field in type_.fields.values():
            named = get_named_type(field.type)
            below = _levels(named) if isinstance(named, GraphQLObjectType) else 0
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


def _arguments(field: GraphQLField, node: FieldNode, walk: Walk | None) -> Mapping[str, Any] | None:
    try:
        return get_argument_values(field, node, walk.variables if walk is not None else None)
    except GraphQLError:
        return None


@dataclass(frozen=True, slots=True)
class _On:
    """Whether a fragment's type condition can apply to an object of type ``name``: its own name, or
    an abstract type (a fragment on another object type never does)."""

    schema: GraphQLSchema
    name: str

    def __call__(self, condition: NamedTypeNode | None) -> bool:
        if condition is None or condition.name.value == self.name:
            return True
        return not isinstance(self.schema.get_type(condition.name.value), GraphQLObjectType)


def _walk_nodes(
    nodes: tuple[FieldNode, ...], name: str | None, fragments: Mapping[str, FragmentDefinitionNode], on: _On
) -> Iterator[tuple[FieldNode, tuple[Conditional, ...]]]:
    for node in nodes:
        yield from _walk(node.selection_set, name, fragments, on, ())


def _walk(
    selection_set: SelectionSetNode | None,
    name: str | None,
    fragments: Mapping[str, FragmentDefinitionNode],
    on: _On,
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


def _included(node: Conditional, walk: Walk | None) -> bool:
    variables = walk.variables if walk is not None else None
    skip = get_directive_values(GraphQLSkipDirective, node, variables)
    if skip is not None and skip["if"] is True:
        return False
    include = get_directive_values(GraphQLIncludeDirective, node, variables)
    return include is None or include["if"] is not False


def _uses_variables(node: Conditional) -> bool:
    return any(
        has_variable(argument.value) for directive in node.directives or () for argument in directive.arguments or ()
    )
