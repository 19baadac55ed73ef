"""The planned executor's state for one execution, and the look-ups it makes on it.

``GatewayExecutionContext`` (``schema.execution``) runs fields; this, its base, holds what one
execution keeps while it does: the schema's field plans, the steps of each selection set met
(``schema.steps``), collected fields shared across requests where that is safe
(``schema.collected``), arguments coerced once per request, objects read by their leaves alone,
and the request-wide part of every resolve info.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any, Final, TypeGuard, cast

from graphql import (
    ExecutionResult,
    FieldNode,
    GraphQLError,
    GraphQLField,
    GraphQLObjectType,
    GraphQLResolveInfo,
    GraphQLSchema,
    OperationType,
)
from graphql.execution.collect_fields import FieldDetailsList, GroupedFieldSet, collect_fields
from graphql.execution.executor import CollectedErrors
from graphql.execution.values import VariableValues, get_argument_values
from graphql.pyutils import Path, RefMap
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema import _OperationContextAwareGraphQLResolveInfo as _ResolveInfo

from schema.async_work import async_helpers
from schema.awaitable import is_awaitable
from schema.collected import shared_collections
from schema.plans import LATER, CompositePlan, field_plans
from schema.steps import Collected, Selection, Step, steps_of

_resolve_info: Final = cast(
    "Callable[[tuple[Any, ...]], GraphQLResolveInfo[Any]]", partial(tuple.__new__, _ResolveInfo)
)  # Strawberry's NamedTuple stands in for graphql-core's resolve info (its own ``build_resolve_info`` says so)
"""Strawberry's resolve info without the Python-level ``__new__`` its NamedTuple generates."""


OF_OPERATION: Final = (
    "schema",
    "fragment_definitions",
    "fragments",
    "root_value",
    "operation",
    "field_resolver",
    "type_resolver",
    "subscribe_field_resolver",
    "enable_early_execution",
    "hide_suggestions",
    "abort_signal",
    "hooks",
    "middleware_manager",
    "error_propagation",
    "is_awaitable",
    "is_async_iterable",
)
"""graphql-core's and Strawberry's attributes of an execution context that are the same for every
execution of its operation (``OperationState``); an execution makes the others afresh."""


class OperationState:
    """What the execution contexts of one operation hold alike, taken from its first one: all but
    the request's context, variables and extensions and the execution's own state."""

    def __init__(self, executor: PlannedExecutionState) -> None:
        self.kind: Final = type(executor)
        """The execution context class that made the first one."""
        attributes = vars(executor)
        self.attributes: Final = {name: attributes[name] for name in OF_OPERATION}
        self.template: Final = {**dict.fromkeys(attributes), **self.attributes}
        """The dictionary of a next execution's attributes before its own are filled in: copied,
        it has every key already, so filling them in neither grows nor rebuilds it."""
        self.planned: Final = executor._planned
        self.plans: Final = executor._plans
        self.shared: Final = executor._shared
        self.awaitable: Final = executor._awaitable
        self.by_type: Final = executor._by_type


def _ref_map() -> RefMap[Any, Any]:
    """An empty ``RefMap``, as ``RefMap()`` makes it without its Python ``__init__`` chain."""
    made: RefMap[Any, Any] = RefMap.__new__(RefMap)
    made._map = {}
    return made


NO_ARGUMENTS: Final[dict[str, Any]] = {}
"""The arguments an ``answered_now`` function gets for a field that takes none (it only reads them)."""


class PlannedExecutionState(StrawberryGraphQLCoreExecutionContext):
    """What one execution keeps, and the look-ups on it that run no field."""

    def __init__(
        self,
        *args: Any,
        copy_of: PlannedExecutionState | None = None,
        again: OperationState | None = None,
        **kwargs: Any,
    ) -> None:
        """``copy_of``: a shallow copy of that executor instead (``GatewayExecutionContext.__copy__``).
        ``again``: another execution of that operation, ``args`` its context value, variable values
        and operation extensions (``_again``)."""
        if copy_of is not None:
            self._copy_from(copy_of)
            return
        if again is not None:
            self._again(again, *args)
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
        self._read: dict[Selection, dict[int, tuple[Any, dict[str, Any]]]] = {}
        """Objects completed by leaves alone, by their selection and the identity of the object
        (kept alive with its output): a user met again in the response is read once. Two levels,
        not one key of both identities: no tuple and one boxed int per look-up."""
        self._info_tail = self._request_info()
        self._context: Any = self.context_value
        """graphql-core's ``context_value``, read as a native attribute (``from_memo`` and
        ``answered_now`` fields read it per object)."""
        self._awaitable: Callable[[Any], bool] = self.is_awaitable
        self._by_type = self.is_awaitable is is_awaitable
        """This execution's ``is_awaitable`` is ``schema.awaitable``'s (the gateway's): called
        directly, not through the attribute graphql-core keeps it in."""

    def _again(
        self,
        kept: OperationState,
        context_value: Any,
        variable_values: VariableValues,
        operation_extensions: dict[str, Any] | None,
    ) -> None:
        """What ``__init__`` (graphql-core's and Strawberry's ``__init__`` chain, then this one's)
        makes, with what does not change from one execution of the operation to the next taken
        from ``kept``."""
        state = kept.template.copy()
        state["context_value"] = self._context = context_value
        state["variable_values"] = variable_values
        state["operation_extensions"] = operation_extensions
        state["collected_errors"] = CollectedErrors()
        state["pending_incremental_futures"] = set()
        state["background_futures"] = set()
        state["_relevant_sub_fields"] = {}
        state["_stream_usages"] = _ref_map()
        state["groups"] = []
        state["tasks"] = []
        state["streams"] = []
        state["_initial_execution_plans"] = _ref_map()
        state["_deferred_execution_plans"] = _ref_map()
        # One dictionary, not an attribute at a time: compiled, each costs a generic ``setattr``.
        setattr(self, "__dict__", state)  # noqa: B010  # mypyc has no ``__dict__`` attribute to assign
        self.async_helpers = async_helpers(self)
        self._planned = kept.planned
        self._plans = kept.plans
        self._steps = {}
        self._shared = kept.shared
        self._arguments = {}
        self._read = {}
        self._info_tail = self._request_info()
        self._awaitable = kept.awaitable
        self._by_type = kept.by_type

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

    def execute_operation(self, serially: bool | None = None) -> Any:
        """graphql-core's, for an operation whose collected fields are kept across requests
        (``schema.collected``: no ``@defer`` or ``@stream`` in it, no directive argument a
        variable) and that nobody can abort: its root fields collected once, as its other
        selections are, and its response the plain one, as there can be no incremental work
        (graphql-core's incremental executor looks for some, and then builds it the same way).
        Any other operation, or one whose root fields fail to collect, goes through graphql-core's."""
        shared = self._shared
        if shared is None or self.abort_signal is not None:
            return super().execute_operation(serially)
        key = (id(self.schema),)  # the operation's root fields in this schema (other keys have two identities or more)
        root = shared.get(key)
        if root is None or root[0] is not self.schema:  # another schema at a freed one's address
            root = self._root(shared, key)
            if root is None:
                return super().execute_operation(serially)
        _, root_type, grouped_field_set, mutation = root
        execute = self.execute_fields_serially if (mutation if serially is None else serially) else self.execute_fields
        try:
            data = execute(root_type, self.root_value, None, grouped_field_set, None)
        except GraphQLError as error:
            self.collected_errors.add(error, None)
            return self._response(None)
        if self._is_awaitable(data):
            return self._response_later(data)
        return self._response(cast("dict[str, Any]", data))

    def _root(
        self, shared: dict[tuple[int, ...], Any], key: tuple[int]
    ) -> tuple[GraphQLSchema, GraphQLObjectType, GroupedFieldSet, bool] | None:
        """The schema, the operation's root type in it, its collected root fields and whether it
        is a mutation, kept under ``key`` (an operation's collections are kept whatever schema
        runs it); None where graphql-core's ``execute_operation`` has an error to report."""
        operation = self.operation
        root_type = self.schema.get_root_type(operation.operation)
        if root_type is None:
            return None
        try:
            grouped_field_set, defer_usages, _ = collect_fields(
                self.schema, self.fragments, self.variable_values, root_type, operation, self.hide_suggestions
            )
        except RecursionError:
            return None
        if defer_usages:
            return None
        root = shared[key] = (self.schema, root_type, grouped_field_set, operation.operation == OperationType.MUTATION)
        return root

    async def _response_later(self, data: Awaitable[dict[str, Any]]) -> ExecutionResult:
        try:
            completed = await data
        except GraphQLError as error:
            self.collected_errors.add(error, None)
            return self._response(None)
        except Exception:
            await self.cancel_incremental_work()
            self.run_async_work_finished_hook()
            raise
        return self._response(completed)

    def _response(self, data: dict[str, Any] | None) -> ExecutionResult:
        """graphql-core's ``build_response`` where there is no incremental work."""
        self.run_async_work_finished_hook()
        return ExecutionResult(data, self.collected_errors.errors or None)

    def build_per_event_executor(self, payload: Any) -> PlannedExecutionState:
        """graphql-core's copy for one subscription event, whose resolve infos hold that event as
        their root value."""
        executor = cast("PlannedExecutionState", super().build_per_event_executor(payload))
        executor._info_tail = executor._request_info()
        return executor

    def _copy_from(self, other: PlannedExecutionState) -> None:
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
        planned = steps_of(self.schema, self._plans, parent_type, grouped_field_set)
        self._steps[id(grouped_field_set)] = (grouped_field_set, planned)
        return planned

    def _subselection(self, plan: CompositePlan, step: Step) -> Collected:
        """The collected fields of a composite step's selection, kept on the step."""
        collected = step.subselection
        if collected is None:
            collected = step.subselection = self._collect(plan.object_type, step.field_details_list)
        return collected

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
        return now(source, self._context, self._arguments_of(plan, step) if step.arguments else NO_ARGUMENTS)

    def _arguments_of(self, plan: CompositePlan, step: Step) -> dict[str, Any]:
        """The step's arguments as graphql-core coerces them, once per request when they are all
        scalars or enum values, once for every request when they are also literals (kept on the
        step; a coercion error is not kept: each object's field reports it). Resolvers get them as
        keywords, a dict of their own."""
        kept = step.kept_arguments
        if kept is not None:
            return kept
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
            if shared and step.literal:
                step.kept_arguments = args
            else:
                self._arguments[id(step)] = (step, args if shared else None)
        return args
