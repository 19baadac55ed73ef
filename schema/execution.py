"""graphql-core's executor with a planned path for the fields that make up most of a response.

graphql-core treats every field alike: a response path, a resolve-info object, the arguments,
the resolver, then ``complete_value`` down through non-null, list and object completion. For a
large response that generic machinery is most of the gateway's CPU. Here each selection set met
during a request is turned once into a list of steps, each carrying the field's plan
(``schema.plans``), and kept across requests where the operation allows it
(``schema.collected``); objects are executed by running those steps:

- a plain leaf is read and taken as its output value, with no path, info or call chain (the
  leaves a selection starts with in one go, ``schema.plans.read_leaves``);
- an object or a list of objects is read (by ``getattr`` or its resolver, which alone gets a
  resolve info) and completed straight into the steps of its own selection set.

Errors go through graphql-core's own ``handle_field_error``, so they are located, reported and
propagated to the nearest nullable parent exactly as before. Whatever the plans do not cover
(abstract types, introspection, ``@defer``/``@stream``, middleware, values a leaf plan does not
vouch for) takes graphql-core's path unchanged: this executor never answers what graphql-core
would not.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from typing import Any, Final, TypeGuard, TypeVar, cast

from graphql import (
    FieldNode,
    GraphQLField,
    GraphQLFieldResolver,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLResolveInfo,
)
from graphql.execution.collect_fields import FieldDetailsList, GroupedFieldSet
from graphql.execution.executor import to_nodes
from graphql.execution.values import get_argument_values
from graphql.pyutils import AwaitableOrValue, Path
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema import _OperationContextAwareGraphQLResolveInfo as _ResolveInfo
from strawberry.types.info import Info

from schema.async_work import async_helpers
from schema.awaitable import is_awaitable, known_not_awaitable
from schema.collected import shared_collections
from schema.lockstep import step_together
from schema.plans import (
    ERROR,
    LATER,
    NOT_PLAIN,
    UNDEFINED,
    CompositePlan,
    FieldPlan,
    LeafPlan,
    Leaves,
    field_plans,
    plan_field,
    read_leaves,
)

_path: Final[Callable[[tuple[Path | None, str | int, str | None]], Path]] = partial(tuple.__new__, Path)
"""``Path(prev, key, typename)`` without the Python-level ``__new__`` a NamedTuple generates."""

At = tuple[Any, ...]
"""Where a field or list item is: its ``Path``, or the same three values (``prev``, ``key``,
``typename``) as a plain tuple whose ``prev`` may be plain too (or a list's ``_ListAt``), made into
a ``Path`` (``_located``) only where one is needed: a resolver's info, an error to locate,
graphql-core's own path. A leaf read, or an object read by its leaves alone, needs none. (Not
``tuple[Any, str | int, str | None]``: compiled, a fixed-length tuple is unboxed, and a ``Path``
passed as one would lose its class.)"""


def _located(at: At) -> Path:
    """The ``Path`` of ``at``, equal to the one graphql-core builds for that position."""
    if type(at) is _PATH:
        return at
    prev = at[0]
    if prev is not None and type(prev) is not _PATH:
        prev = prev.located() if type(prev) is _ListAt else _located(prev)
    return _path((prev, at[1], at[2]))


class _ListAt:
    """Where a list is, as its items' ``prev``: made a ``Path`` once, when the first item that needs
    one asks (most need none), rather than for every list or again for every item."""

    def __init__(self, at: At) -> None:
        self.at = at
        self.path: Path | None = None

    def located(self) -> Path:
        path = self.path
        if path is None:
            path = self.path = _located(self.at)
        return path


_resolve_info: Final = cast(
    "Callable[[tuple[Any, ...]], GraphQLResolveInfo[Any]]", partial(tuple.__new__, _ResolveInfo)
)  # Strawberry's NamedTuple stands in for graphql-core's resolve info (its own ``build_resolve_info`` says so)
"""Strawberry's resolve info without the Python-level ``__new__`` its NamedTuple generates."""


_new: Final = object.__new__
"""A Strawberry ``Info`` without its dataclass ``__init__`` (``schema.streamline._info_builder``)."""

_INFO: Final = Info
_PATH: Final = Path
_SUBCLASS: Final = issubclass
"""Imported classes and a builtin as constants: compiled, an imported name (or a builtin) is looked
up in the module's globals (or the builtins module) at each use, a ``Final`` one is read natively."""


@dataclass(eq=False)
class Step:
    response_name: str
    plan: FieldPlan | None
    """None: graphql-core's ``execute_field``."""
    field_details_list: FieldDetailsList
    field_nodes: list[FieldNode]
    """What a resolver's info holds; shared by every object the step runs on."""
    arguments: bool
    """The field declares arguments or the query passes some: a resolver step coerces them."""
    subselection: Collected | None = None
    """For a composite plan, once met: its selection's collected fields on the plan's object type
    (``_subselection``). A step is shared exactly as far as that is: across the requests of an
    operation whose collection does not depend on the request, else within one request."""


Steps = tuple[Step, ...]


@dataclass(frozen=True)
class Selection:
    """A selection set's steps on one object type."""

    steps: Steps
    read: Leaves | None
    """The leaf steps the selection starts with, read into the object's output in one go
    (``schema.plans.read_leaves``); None when the first step is no leaf plan."""
    rest: Steps
    """The steps after those ``read`` reads."""
    type_name: str
    """The name of the object type the steps run on."""


def _selection(steps: Steps, type_name: str) -> Selection:
    count = next((index for index, step in enumerate(steps) if type(step.plan) is not LeafPlan), len(steps))
    leaves = [(step.response_name, step.plan) for step in steps[:count] if isinstance(step.plan, LeafPlan)]
    return Selection(steps, tuple(leaves) if leaves else None, steps[count:], type_name)


@dataclass(frozen=True)
class Collected:
    """A selection's collected fields on one object type, and their steps."""

    object_type: GraphQLObjectType
    nodes: tuple[FieldNode, ...]
    """The selection's field nodes; with ``object_type``, kept alive while the entry is shared."""
    grouped_field_set: GroupedFieldSet
    selection: Selection | None
    """None when the selection defers fields: graphql-core's path then."""
    leaves: Leaves | None
    """When every step is a leaf plan (the output is a function of the object's attributes
    alone): the selection's leaves, which are all of it."""


_NO_ARGUMENTS: Final[dict[str, Any]] = {}
"""The arguments an ``answered_now`` function gets for a field that takes none (it only reads them)."""

_Item = tuple[GraphQLOutputType, FieldDetailsList]
"""A list's item type and field: where an item's error is handled."""


class GatewayExecutionContext(StrawberryGraphQLCoreExecutionContext):
    def __init__(self, *args: Any, copy_of: GatewayExecutionContext | None = None, **kwargs: Any) -> None:
        """``copy_of``: a shallow copy of that executor instead (``__copy__``)."""
        if copy_of is not None:
            self._copy_from(copy_of)
            return
        super().__init__(*args, **kwargs)
        self.async_helpers = async_helpers(self)
        """graphql-core's are bound to the executor: a reference cycle per request (``schema.async_work``)."""
        manager = self.middleware_manager
        self._planned = manager is None or not manager.middlewares
        """Middleware (a Strawberry extension with a ``resolve`` hook) must see every field."""
        self._plans = field_plans(self.schema)
        self._steps: dict[int, tuple[GroupedFieldSet, Selection]] = {}
        """By the identity of a grouped field set (kept alive with its steps)."""
        self._shared = shared_collections(self.operation, self.fragment_definitions) if self._planned else None
        self._arguments: dict[int, tuple[Step, dict[str, Any] | None]] = {}
        """A resolver step's coerced arguments, by the identity of the step (kept alive with them):
        the same for every object the step runs on within a request (``issues(first: 10)`` of
        each project is coerced once). None: some are lists or input objects, coerced afresh for
        each object, since a resolver may change them."""
        self._read: dict[tuple[int, int], tuple[Any, dict[str, Any]]] = {}
        """Objects completed by leaves alone, by the identity of the object and of its selection
        (kept alive with their output): a user met again in the response is read once."""
        self._info_tail = self._request_info()
        self._context: Any = self.context_value
        """graphql-core's ``context_value``, read as a native attribute (``from_memo`` and
        ``answered_now`` fields read it per object)."""
        self._awaitable: Callable[[Any], bool] = self.is_awaitable
        self._by_type = self.is_awaitable is is_awaitable
        """This execution's ``is_awaitable`` is ``schema.awaitable``'s (the gateway's): called
        directly, not through the attribute graphql-core keeps it in."""

    def _request_info(self) -> tuple[Any, ...]:
        """What every resolve info of this execution holds after the field's own path."""
        return (
            self.schema,
            self.fragment_definitions,
            self.root_value,
            self.operation,
            self.variable_values.coerced,
            self.context_value,
            self.is_awaitable,
            self.abort_signal,
            self.async_helpers,
            self.operation_extensions,
        )

    def build_per_event_executor(self, payload: Any) -> GatewayExecutionContext:
        """graphql-core's copy for one subscription event, whose resolve infos hold that event as
        their root value."""
        executor = cast("GatewayExecutionContext", super().build_per_event_executor(payload))
        executor._info_tail = executor._request_info()
        return executor

    def __copy__(self) -> GatewayExecutionContext:
        """What ``copy.copy`` makes of a Python object (graphql-core copies the executor for each
        subscription event and deferred group); compiled by mypyc, the class makes every instance
        through ``__init__``, so it copies itself there."""
        return GatewayExecutionContext(copy_of=self)

    def _copy_from(self, other: GatewayExecutionContext) -> None:
        for name, value in vars(other).items():  # graphql-core's and Strawberry's attributes
            setattr(self, name, value)
        self._planned = other._planned
        self._plans = other._plans
        self._steps = other._steps
        self._shared = other._shared
        self._arguments = other._arguments
        self._read = other._read
        self._info_tail = other._info_tail
        self._context = other._context
        self._awaitable = other._awaitable
        self._by_type = other._by_type

    def _is_awaitable(self, value: Any) -> TypeGuard[Awaitable[Any]]:
        return is_awaitable(value) if self._by_type else self._awaitable(value)

    def build_resolve_info(
        self, field_def: GraphQLField, field_nodes: list[FieldNode], parent_type: GraphQLObjectType, path: Path
    ) -> GraphQLResolveInfo[Any]:
        """Strawberry's own, field for field (a resolver is called some 250 times per dashboard),
        its request-wide part taken as one tuple."""
        return _resolve_info(
            (field_nodes[0].name.value, field_nodes, field_def.type, parent_type, path) + self._info_tail  # noqa: RUF005  # one tuple allocation fewer
        )

    def execute_fields(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path | None,
        grouped_field_set: GroupedFieldSet,
        position_context: Any,
    ) -> AwaitableOrValue[dict[str, Any]]:
        if not self._planned or position_context is not None:
            return super().execute_fields(parent_type, source_value, path, grouped_field_set, position_context)
        return self._run_steps(parent_type, source_value, path, self._steps_of(parent_type, grouped_field_set))

    def _collect(self, object_type: GraphQLObjectType, field_details_list: FieldDetailsList) -> Collected:
        """graphql-core's ``collect_subfields``, shared across requests where that is safe
        (``schema.collected``); asked once per step (``_subselection``)."""
        nodes = tuple(details.node for details in field_details_list)
        shared = self._shared
        key = (id(object_type), *map(id, nodes))
        collected: Collected | None = shared.get(key) if shared is not None else None
        if collected is None:
            grouped_field_set, defer_usages, _ = self.collect_subfields(object_type, field_details_list)
            selection = None if defer_usages else self._steps_of(object_type, grouped_field_set)
            leaves = selection.read if selection is not None and not selection.rest else None
            collected = Collected(object_type, nodes, grouped_field_set, selection, leaves)
            if shared is not None:
                shared[key] = collected
        return collected

    def _steps_of(self, parent_type: GraphQLObjectType, grouped_field_set: GroupedFieldSet) -> Selection:
        memo = self._steps.get(id(grouped_field_set))
        if memo is not None:
            return memo[1]
        plans = self._plans
        steps: list[Step] = []
        for response_name, field_details_list in grouped_field_set.items():
            node = field_details_list[0].node
            key = (parent_type.name, node.name.value)
            if key in plans:
                plan = plans[key]
            else:
                plan = plans[key] = plan_field(self.schema, parent_type, key[1])
            if isinstance(plan, LeafPlan) and node.arguments:
                plan = None
            elif isinstance(plan, CompositePlan) and plan.list_type is not None and node.directives:
                plan = None  # a list field with directives may be streamed
            arguments = bool(node.arguments) or (isinstance(plan, CompositePlan) and plan.has_args)
            steps.append(Step(response_name, plan, field_details_list, to_nodes(field_details_list), arguments))
        planned = _selection(tuple(steps), parent_type.name)
        self._steps[id(grouped_field_set)] = (grouped_field_set, planned)
        return planned

    def _run_steps(
        self,
        parent_type: GraphQLObjectType,
        source: Any,
        path: At | None,
        selection: Selection,
        item: _Item | None = None,
    ) -> AwaitableOrValue[dict[str, Any]]:
        """``item``: the object is a list item whose pending fields are awaited and its errors
        handled by one coroutine (``_settle_item``) rather than two. The leaves the selection
        starts with are read in one go; when one is not plain, every step is run here.
        A step makes ``path`` a ``Path`` only where it needs its own."""
        awaitable = self._awaitable
        by_type = self._by_type
        read = selection.read
        read_first = read_leaves(read, source, awaitable) if read is not None else None
        results: dict[str, Any] = {} if read_first is None else read_first
        steps = selection.steps if read_first is None else selection.rest
        awaitable_fields: list[str] = []
        type_name = selection.type_name
        try:
            for step in steps:
                response_name = step.response_name
                plan = step.plan
                field_details_list = step.field_details_list
                if type(plan) is LeafPlan:
                    value = plan.read(source, plan.attribute)
                    if type(value) is plan.exact:
                        results[response_name] = value
                        continue
                    if type(value) is plan.enum_class and (name := plan.enum_names.get(value)) is not None:
                        results[response_name] = name
                        continue
                    value = plan.complete(value, awaitable)
                    if value is not NOT_PLAIN:
                        results[response_name] = value
                        continue
                    result = self.execute_field(
                        parent_type, source, field_details_list, _located((path, response_name, type_name)), None
                    )
                elif type(plan) is CompositePlan:
                    result = self._execute_composite(plan, step, parent_type, source, (path, response_name, type_name))
                else:
                    result = self.execute_field(
                        parent_type, source, field_details_list, _located((path, response_name, type_name)), None
                    )
                    if result is UNDEFINED:
                        continue
                results[response_name] = result
                if (
                    type(result) is not dict
                    and result is not None
                    and (is_awaitable(result) if by_type else awaitable(result))
                ):
                    awaitable_fields.append(response_name)
        except Exception:
            if awaitable_fields:
                self.settle_in_background([results[field] for field in awaitable_fields])
            raise
        if not awaitable_fields:
            return results
        return (
            _await_at(results, awaitable_fields)
            if item is None
            else self._settle_item(results, awaitable_fields, item, path)  # type: ignore[arg-type]  # an item's path
        )

    def _execute_composite(
        self,
        plan: CompositePlan,
        step: Step,
        parent_type: GraphQLObjectType,
        source: Any,
        at: At,
    ) -> AwaitableOrValue[Any]:
        """graphql-core's ``execute_field`` for an object or a list of objects, without its detours;
        its ``Path`` made only where one is needed."""
        field_details_list = step.field_details_list
        try:
            if plan.read is not None:
                result = plan.read(source, plan.attribute)
            elif (plan.memo is not None or plan.now is not None) and (
                found := self._answered(plan, step, source)
            ) is not LATER:
                result = found
            else:
                at = path = _located(at)
                info = self.build_resolve_info(plan.field_def, step.field_nodes, parent_type, path)
                with_info = plan.with_info
                if with_info is not None:
                    strawberry_info = _new(_INFO)
                    strawberry_info._raw_info = info
                    strawberry_info._field = with_info[1]
                    result = with_info[0](source, strawberry_info)
                else:
                    resolve: GraphQLFieldResolver = plan.resolve  # type: ignore[assignment]  # set for resolver plans
                    result = (
                        resolve(source, info, **self._arguments_of(plan, step))
                        if step.arguments
                        else resolve(source, info)
                    )
            if self._is_awaitable(result):
                return self._complete_awaited(plan, step, _located(at), result)
            if plan.list_type is None and result is not None and result is not UNDEFINED:
                if _SUBCLASS(type(result), ERROR):
                    raise result
                completed = self._complete_object(self._subselection(plan, step), field_details_list, at, result)
            else:
                completed = self._complete(plan, step, at, result)
            if type(completed) is not dict and completed is not None and self._is_awaitable(completed):
                return self._settle(completed, plan.return_type, field_details_list, _located(at))
            return completed
        except Exception as raw_error:
            self.handle_field_error(raw_error, plan.return_type, field_details_list, _located(at))
            return None

    def _answered(self, plan: CompositePlan, step: Step, source: Any) -> Any:
        """What the field answers without its resolver: what the context's memo holds for the
        source's key (``from_memo``), else what its ``answered_now`` function answers; ``LATER``
        where neither answers (its resolver then does)."""
        memo = plan.memo
        if memo is not None:
            key = getattr(source, memo[1])
            if key is not None:
                memoized: dict[Any, Any] = getattr(self._context, memo[0])
                found = memoized.get(key)
                if found is not None:
                    return found
        now = plan.now
        if now is None:
            return LATER
        return now(source, self._context, self._arguments_of(plan, step) if step.arguments else _NO_ARGUMENTS)

    def _arguments_of(self, plan: CompositePlan, step: Step) -> dict[str, Any]:
        """The step's arguments as graphql-core coerces them, once per request when they are all
        scalars or enum values (a coercion error is not kept: each object's field reports it).
        Resolvers get them as keywords, a dict of their own."""
        memo = self._arguments.get(id(step))
        if memo is not None and memo[1] is not None:
            return memo[1]
        details = step.field_details_list[0]
        args = get_argument_values(
            plan.field_def,
            details.node,
            self.variable_values,
            details.fragment_variable_values,
            self.hide_suggestions,
        )
        if memo is None:
            shared = not any(isinstance(value, list | dict) for value in args.values())
            self._arguments[id(step)] = (step, args if shared else None)
        return args

    async def _complete_awaited(self, plan: CompositePlan, step: Step, path: Path, result: Awaitable[Any]) -> Any:
        field_details_list = step.field_details_list
        try:
            resolved = await (result if self.abort_signal is None else self.with_abort_signal(result))
            completed = self._complete(plan, step, path, resolved)
            if type(completed) is not dict and completed is not None and self._is_awaitable(completed):
                completed = await completed
        except Exception as raw_error:
            self.handle_field_error(raw_error, plan.return_type, field_details_list, path)
            return None
        return completed

    async def _settle(
        self,
        completed: Awaitable[Any],
        return_type: GraphQLOutputType,
        field_details_list: FieldDetailsList,
        path: Path,
    ) -> Any:
        try:
            return await completed
        except Exception as raw_error:
            self.handle_field_error(raw_error, return_type, field_details_list, path)
            return None

    async def _settle_item(self, results: dict[str, Any], keys: list[str], item: _Item, at: At) -> Any:
        """A list item's object once its pending fields are in place (as ``_await_at`` puts them), or
        its error handled as the item's."""
        try:
            if len(keys) == 1:
                key = keys[0]
                results[key] = await results[key]
            else:
                awaited = await step_together([results[key] for key in keys])
                for key, value in zip(keys, awaited, strict=True):
                    results[key] = value
        except Exception as raw_error:
            self.handle_field_error(raw_error, item[0], item[1], _located(at))
            return None
        return results

    def _complete(self, plan: CompositePlan, step: Step, at: At, result: Any) -> Any:
        if _SUBCLASS(type(result), ERROR):
            raise result
        if result is None or result is UNDEFINED:
            if plan.nullable:
                return None
            raise plan.null_error()
        if plan.list_type is not None:
            return self._complete_list(plan, step, at, result)
        return self._complete_object(self._subselection(plan, step), step.field_details_list, at, result)

    def _subselection(self, plan: CompositePlan, step: Step) -> Collected:
        """The collected fields of a composite step's selection, kept on the step."""
        collected = step.subselection
        if collected is None:
            collected = step.subselection = self._collect(plan.object_type, step.field_details_list)
        return collected

    def _complete_object(
        self, collected: Collected, field_details_list: FieldDetailsList, at: At, result: Any
    ) -> AwaitableOrValue[dict[str, Any]]:
        selection = collected.selection
        if selection is None:
            return self.collect_and_execute_subfields(
                collected.object_type, field_details_list, _located(at), result, None
            )
        leaves = collected.leaves
        if leaves is not None:
            key = (id(result), id(selection))
            memo = self._read.get(key)
            if memo is not None:
                return memo[1]
            read = read_leaves(leaves, result, self._awaitable)
            if read is not None:
                self._read[key] = (result, read)
                return read
        return self._run_steps(collected.object_type, result, at, selection)

    def _complete_list(self, plan: CompositePlan, step: Step, at: At, items: Any) -> AwaitableOrValue[list[Any]]:
        object_type = plan.object_type
        field_details_list = step.field_details_list
        collected = self._subselection(plan, step)
        selection = collected.selection
        if selection is None or not isinstance(items, (list, tuple)):
            path = _located(at)
            info = self.build_resolve_info(plan.field_def, to_nodes(field_details_list), plan.parent_type, path)
            return self.complete_list_value(plan.list_type, field_details_list, info, path, items, None)  # type: ignore[arg-type]  # a list plan
        item_type = plan.item_type
        awaitable = self._awaitable
        by_type = self._by_type
        leaves = collected.leaves
        list_at = _ListAt(at)
        completed: list[Any] = []
        awaitable_indices: list[int] = []
        as_item: _Item = (item_type, field_details_list)
        # The type of an item found not null, an error or awaitable: an item of the same type is
        # none of those either (the checks look at its type, as far as schema.awaitable's memo
        # knows it), so the next ones skip them.
        plain: type | None = None
        try:
            for index, item in enumerate(items):
                item_at = (list_at, index, None)
                try:
                    if type(item) is not plain:
                        if (
                            item is None
                            or item is UNDEFINED
                            or _SUBCLASS(type(item), ERROR)
                            or (is_awaitable(item) if by_type else awaitable(item))
                        ):
                            value: Any = self._complete_odd_item(plan, collected, field_details_list, item_at, item)
                            if value is not None:
                                awaitable_indices.append(index)
                            completed.append(value)
                            continue
                        plain = type(item) if known_not_awaitable(type(item)) else None
                    value = read_leaves(leaves, item, awaitable) if leaves is not None else None
                    if value is None:
                        value = self._run_steps(object_type, item, item_at, selection, as_item)
                    if type(value) is not dict:
                        awaitable_indices.append(index)
                except Exception as raw_error:
                    self.handle_field_error(raw_error, item_type, field_details_list, _located(item_at))
                    value = None
                completed.append(value)
        except Exception:
            if awaitable_indices:
                self.settle_in_background([completed[index] for index in awaitable_indices])
            raise
        if not awaitable_indices:
            return completed
        return _await_at(completed, awaitable_indices)

    def _complete_odd_item(
        self, plan: CompositePlan, collected: Collected, field_details_list: FieldDetailsList, item_at: At, item: Any
    ) -> Awaitable[Any] | None:
        """A list item that is null, an error or awaitable: None, raised, or its completion."""
        if item is None or item is UNDEFINED:
            if not plan.item_nullable:
                raise plan.null_error()
            return None
        if isinstance(item, ERROR):
            raise item
        return self._complete_awaited_item(plan, collected, field_details_list, item_at, item)

    async def _complete_awaited_item(
        self,
        plan: CompositePlan,
        collected: Collected,
        field_details_list: FieldDetailsList,
        item_at: At,
        item: Awaitable[Any],
    ) -> Any:
        try:
            resolved = await (item if self.abort_signal is None else self.with_abort_signal(item))
            if resolved is None or resolved is UNDEFINED:
                if not plan.item_nullable:
                    raise plan.null_error()
                return None
            if isinstance(resolved, ERROR):
                raise resolved
            completed = self._complete_object(collected, field_details_list, item_at, resolved)
            if type(completed) is not dict and self._is_awaitable(completed):
                return await completed
        except Exception as raw_error:
            self.handle_field_error(raw_error, plan.item_type, field_details_list, _located(item_at))
            return None
        return completed


Container = TypeVar("Container", dict[str, Any], list[Any])


async def _await_at(container: Container, keys: list[Any]) -> Container:
    """The container once the awaitable at each of ``keys`` (an object's fields or a list's
    indices) has been awaited into its place, concurrently."""
    if len(keys) == 1:
        key = keys[0]
        container[key] = await container[key]
    else:
        awaited = await step_together([container[key] for key in keys])
        for key, value in zip(keys, awaited, strict=True):
            container[key] = value
    return container
