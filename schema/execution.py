"""graphql-core's executor with a planned path for the fields that make up most of a response.

graphql-core treats every field alike: a response path, a resolve-info object, the arguments,
the resolver, then ``complete_value`` down through non-null, list and object completion. For a
large response that generic machinery is most of the gateway's CPU. Here each selection set met
during a request is turned once into a list of steps (``schema.steps``), each carrying the field's
plan (``schema.plans``), and kept across requests where the operation allows it
(``schema.collected``; what one execution keeps is ``schema.execution_state``); objects are
executed by running those steps:

- a plain leaf is read (by its attribute, or by the ``answered_now`` function its resolver
  declares, where that answers) and taken as its output value, with no path, info or call chain
  (the leaves a selection starts with in one go, ``schema.plans.read_leaves``);
- an object or a list of objects is read (by ``getattr`` or its resolver, which alone gets a
  resolve info) and completed straight into the steps of its own selection set.

Errors go through graphql-core's own ``handle_field_error``, so they are located, reported and
propagated to the nearest nullable parent exactly as before. Whatever the plans do not cover
(abstract types, introspection, ``@defer``/``@stream``, middleware, values a leaf plan does not
vouch for) takes graphql-core's path unchanged: this executor never answers what graphql-core
would not.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any, Final

from graphql import GraphQLFieldResolver, GraphQLObjectType, GraphQLOutputType
from graphql.execution.collect_fields import FieldDetailsList, GroupedFieldSet
from graphql.execution.executor import to_nodes
from graphql.pyutils import AwaitableOrValue, Path
from strawberry.types.info import Info

from schema.awaitable import is_awaitable, known_not_awaitable
from schema.execution_state import NO_ARGUMENTS, PlannedExecutionState
from schema.lockstep import await_at, step_together
from schema.plans import ERROR, LATER, NOT_PLAIN, UNDEFINED, CompositePlan, LeafPlan, read_leaves
from schema.positions import At, ListAt, located
from schema.steps import Collected, Selection, Step

_new: Final = object.__new__
"""A Strawberry ``Info`` without its dataclass ``__init__`` (``schema.streamline._info_builder``)."""

_INFO: Final = Info
_SUBCLASS: Final = issubclass
"""An imported class and a builtin as constants: compiled, an imported name (or a builtin) is looked
up in the module's globals (or the builtins module) at each use, a ``Final`` one is read natively."""

_Item = tuple[GraphQLOutputType, FieldDetailsList]
"""A list's item type and field: where an item's error is handled."""


class GatewayExecutionContext(PlannedExecutionState):
    """graphql-core's executor, running the planned steps of each object it completes."""

    def __copy__(self) -> GatewayExecutionContext:
        """What ``copy.copy`` makes of a Python object (graphql-core copies the executor for each
        subscription event and deferred group); compiled by mypyc, the class makes every instance
        through ``__init__``, so it copies itself there."""
        return GatewayExecutionContext(copy_of=self)

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
        awaitable_fields: list[str] | None = None  # made when a first field is pending: most objects have none
        type_name = selection.type_name
        try:
            for step in steps:
                response_name = step.response_name
                plan = step.plan
                field_details_list = step.field_details_list
                if type(plan) is LeafPlan:
                    now = plan.now
                    value = (
                        plan.read(source, plan.attribute) if now is None else now(source, self._context, NO_ARGUMENTS)
                    )
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
                        parent_type, source, field_details_list, located((path, response_name, type_name)), None
                    )
                elif type(plan) is CompositePlan:
                    result = self._execute_composite(plan, step, parent_type, source, (path, response_name, type_name))
                else:
                    result = self.execute_field(
                        parent_type, source, field_details_list, located((path, response_name, type_name)), None
                    )
                    if result is UNDEFINED:
                        continue
                results[response_name] = result
                if (
                    type(result) is not dict
                    and result is not None
                    and (is_awaitable(result) if by_type else awaitable(result))
                ):
                    awaitable_fields = [] if awaitable_fields is None else awaitable_fields
                    awaitable_fields.append(response_name)
        except Exception:
            if awaitable_fields:
                self.settle_in_background([results[field] for field in awaitable_fields])
            raise
        if awaitable_fields is None:
            return results
        return (
            await_at(results, awaitable_fields)
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
            if plan.by_getattr:
                result = getattr(source, plan.attribute)
            elif plan.read is not None:
                result = plan.read(source, plan.attribute)
            elif (plan.memo is not None or plan.now is not None) and (
                found := self._answered(plan, step, source)
            ) is not LATER:
                result = found
            else:
                at = path = located(at)
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
                return self._complete_awaited(plan, step, located(at), result)
            if plan.list_type is None and result is not None and result is not UNDEFINED:
                if _SUBCLASS(type(result), ERROR):
                    raise result
                completed = self._complete_object(self._subselection(plan, step), field_details_list, at, result)
            else:
                completed = self._complete(plan, step, at, result)
            if type(completed) is not dict and completed is not None and self._is_awaitable(completed):
                return self._settle(completed, plan.return_type, field_details_list, located(at))
            return completed
        except Exception as raw_error:
            self.handle_field_error(raw_error, plan.return_type, field_details_list, located(at))
            return None

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
        """A list item's object once its pending fields are in place (as ``schema.lockstep.await_at`` puts them), or
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
            self.handle_field_error(raw_error, item[0], item[1], located(at))
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

    def _complete_object(
        self, collected: Collected, field_details_list: FieldDetailsList, at: At, result: Any
    ) -> AwaitableOrValue[dict[str, Any]]:
        selection = collected.selection
        if selection is None:
            return self.collect_and_execute_subfields(
                collected.object_type, field_details_list, located(at), result, None
            )
        leaves = collected.leaves
        if leaves is not None:
            objects = self._read.get(selection)
            if objects is None:
                objects = self._read[selection] = {}
            key = id(result)
            memo = objects.get(key)
            if memo is not None:
                return memo[1]
            read = read_leaves(leaves, result, self._awaitable)
            if read is not None:
                objects[key] = (result, read)
                return read
        return self._run_steps(collected.object_type, result, at, selection)

    def _complete_list(self, plan: CompositePlan, step: Step, at: At, items: Any) -> AwaitableOrValue[list[Any]]:
        object_type = plan.object_type
        field_details_list = step.field_details_list
        collected = self._subselection(plan, step)
        selection = collected.selection
        if selection is None or not isinstance(items, (list, tuple)):
            path = located(at)
            info = self.build_resolve_info(plan.field_def, to_nodes(field_details_list), plan.parent_type, path)
            return self.complete_list_value(plan.list_type, field_details_list, info, path, items, None)  # type: ignore[arg-type]  # a list plan
        item_type = plan.item_type
        awaitable = self._awaitable
        by_type = self._by_type
        leaves = collected.leaves
        list_at = ListAt(at)
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
                    self.handle_field_error(raw_error, item_type, field_details_list, located(item_at))
                    value = None
                completed.append(value)
        except Exception:
            if awaitable_indices:
                self.settle_in_background([completed[index] for index in awaitable_indices])
            raise
        if not awaitable_indices:
            return completed
        return await_at(completed, awaitable_indices)

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
            self.handle_field_error(raw_error, plan.item_type, field_details_list, located(item_at))
            return None
        return completed
