"""graphql-core's executor internals the planned executor is written against (``schema/execution.py``
with ``execution_state.py`` subclasses it and calls its per-field methods), each pinned by a test
named after it (see ``test_executor_internals_pins``)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator
from copy import copy
from typing import Any

import pytest
import strawberry
from executor_internals_support import (
    DOCUMENT,
    ROOT,
    SCHEMA,
    Leaf,
    Query,
    built_executor,
    graphql_schema,
    root_fields,
    type_named,
)
from graphql import (
    GraphQLError,
    GraphQLInt,
    GraphQLList,
    parse,
)
from graphql.execution.collect_fields import FieldDetails
from graphql.execution.executor import to_nodes
from graphql.execution.values import get_argument_values
from graphql.pyutils import Path
from strawberry.extensions import SchemaExtension
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from schema.execution import GatewayExecutionContext
from schema.plans import CompositePlan, plan_field
from schema.positions import path_of


@strawberry.type
class Tick:
    number: int

    @strawberry.field
    def root_number(self, info: strawberry.Info) -> int:
        """Read from the root value: each event is the root value of its own execution."""
        return int(info.root_value.number)


@strawberry.type
class Ticking:
    @strawberry.subscription
    async def ticks(self) -> AsyncGenerator[Tick, None]:
        for number in (1, 2, 3):
            yield Tick(number=number)


def test_strawberry_executes_on_a_subclass_of_graphql_cores_executor_that_the_gateway_extends() -> None:
    assert issubclass(GatewayExecutionContext, StrawberryGraphQLCoreExecutionContext)
    assert SCHEMA.execution_context_class is StrawberryGraphQLCoreExecutionContext
    executor = built_executor()
    assert executor.operation.name.value == "Q"
    assert executor.fragment_definitions == {}
    assert executor.abort_signal is None
    assert executor.hide_suggestions is False
    assert executor.is_awaitable("a value") is False


async def test_execute_fields_is_the_hook_for_every_selection_set_with_the_arguments_the_planner_takes() -> None:
    seen: list[tuple[str, list[str | int] | None, Any]] = []

    class Recording(StrawberryGraphQLCoreExecutionContext):
        def execute_fields(
            self, parent_type: Any, source_value: Any, path: Any, grouped_field_set: Any, position_context: Any
        ) -> Any:
            seen.append((parent_type.name, path.as_list() if path else None, position_context))
            assert all(isinstance(details, FieldDetails) for group in grouped_field_set.values() for details in group)
            return super().execute_fields(parent_type, source_value, path, grouped_field_set, position_context)

    schema = strawberry.Schema(query=Query, execution_context_class=Recording)
    result = await schema.execute(DOCUMENT, root_value=ROOT, variable_values={"size": 2})
    assert result.errors is None
    assert seen == [
        ("Query", None, None),
        ("Leaf", ["leaves", 0], None),
        ("Leaf", ["leaves", 1], None),
        ("Leaf", ["sure"], None),
    ]


def test_execute_field_resolves_one_field_at_a_path_without_a_position_context() -> None:
    executor = built_executor()
    fields = root_fields(executor)
    query_type = type_named("Query")
    sized = executor.execute_field(query_type, ROOT, fields["sized"], Path(None, "sized", "Query"), None)
    assert sized == "sized 3 None"
    leaves = executor.execute_field(query_type, ROOT, fields["leaves"], Path(None, "leaves", "Query"), None)
    assert leaves == [{"name": "a", "shade": "LIGHT"}, {"name": "b", "shade": "DARK"}]


def test_collect_subfields_answers_grouped_field_details_defer_usages_and_one_more_value() -> None:
    executor = built_executor()
    grouped, defer_usages, _ = executor.collect_subfields(type_named("Leaf"), root_fields(executor)["leaves"])
    assert list(grouped) == ["name", "shade"]
    assert not defer_usages
    details = grouped["name"][0]
    assert details.node.name.value == "name"
    assert details.fragment_variable_values is None
    assert [node.name.value for node in to_nodes(grouped["shade"])] == ["shade"]


def test_get_argument_values_takes_the_executors_variables_fragment_variables_and_suggestion_flag() -> None:
    executor = built_executor()
    details = root_fields(executor)["sized"][0]
    field_def = type_named("Query").fields["sized"]
    arguments = get_argument_values(
        field_def, details.node, executor.variable_values, details.fragment_variable_values, executor.hide_suggestions
    )
    assert arguments == {"size": 3, "tags": None}


def test_build_resolve_info_gives_resolvers_the_path_and_strawberrys_coerced_variables() -> None:
    executor = built_executor()
    field_def = type_named("Query").fields["sized"]
    nodes = to_nodes(root_fields(executor)["sized"])
    info = executor.build_resolve_info(field_def, nodes, type_named("Query"), Path(None, "sized", "Query"))
    assert info.field_name == "sized"
    assert info.path.as_list() == ["sized"]
    assert info.variable_values == {"size": 3}


def test_the_gateways_resolve_info_is_strawberrys_field_for_field() -> None:
    executor = GatewayExecutionContext.build(
        graphql_schema(), parse(DOCUMENT), root_value=ROOT, raw_variable_values={"size": 3}
    )
    assert isinstance(executor, GatewayExecutionContext), executor
    field_def = type_named("Query").fields["sized"]
    nodes = to_nodes(root_fields(executor)["sized"])
    path = Path(None, "sized", "Query")
    ours = executor.build_resolve_info(field_def, nodes, type_named("Query"), path)
    theirs = StrawberryGraphQLCoreExecutionContext.build_resolve_info(
        executor, field_def, nodes, type_named("Query"), path
    )
    assert type(ours) is type(theirs)
    assert ours._asdict() == theirs._asdict()


async def test_each_subscription_event_is_the_root_value_its_resolvers_see() -> None:
    schema = strawberry.Schema(query=Query, subscription=Ticking, execution_context_class=GatewayExecutionContext)
    stream = await schema.subscribe("subscription { ticks { number rootNumber } }")
    assert isinstance(stream, AsyncIterator), stream
    results = [result async for result in stream]
    assert [(result.errors, result.data) for result in results] == [
        (None, {"ticks": {"number": number, "rootNumber": number}}) for number in (1, 2, 3)
    ]


def test_a_copy_of_the_gateways_executor_shares_every_attribute_compiled_or_not() -> None:
    """graphql-core copies its executor (``copy``) for each subscription event and deferred group."""
    executor = GatewayExecutionContext.build(
        graphql_schema(), parse(DOCUMENT), root_value=ROOT, raw_variable_values={"size": 3}
    )
    assert isinstance(executor, GatewayExecutionContext), executor
    # Compiled, the class's own attributes are not in vars(): mypyc lists them on the class.
    own = [name for name in getattr(GatewayExecutionContext, "__mypyc_attrs__", ()) if name != "__dict__"]
    copied = copy(executor)
    assert type(copied) is GatewayExecutionContext
    assert all(getattr(copied, name) is getattr(executor, name) for name in [*vars(executor), *own])
    per_event = executor.build_per_event_executor({"sized": 1})
    assert per_event.root_value == {"sized": 1}
    assert per_event.collected_errors is not executor.collected_errors


def test_handle_field_error_raises_for_a_non_null_field_and_collects_for_a_nullable_one() -> None:
    executor = built_executor()
    fields = root_fields(executor)
    sure_type, maybe_type = type_named("Query").fields["sure"].type, type_named("Query").fields["maybe"].type
    with pytest.raises(GraphQLError, match="no sure") as raised:
        executor.handle_field_error(ValueError("no sure"), sure_type, fields["sure"], Path(None, "sure", "Query"))
    assert raised.value.path == ["sure"]
    executor.handle_field_error(ValueError("no maybe"), maybe_type, fields["maybe"], Path(None, "maybe", "Query"))
    assert [(error.message, error.path) for error in executor.collected_errors.errors] == [("no maybe", ["maybe"])]


async def test_settle_in_background_runs_pending_awaitables_to_their_end() -> None:
    executor = built_executor()
    settled: list[str] = []

    async def pending(name: str) -> None:
        await asyncio.sleep(0)
        settled.append(name)
        raise ValueError(name)  # settled, not raised to anyone

    executor.settle_in_background([pending("a"), pending("b")])
    await asyncio.gather(*executor.background_futures)
    assert settled == ["a", "b"]


async def test_with_abort_signal_awaits_a_value_when_no_signal_is_set() -> None:
    async def value() -> str:
        return "done"

    assert await built_executor().with_abort_signal(value()) == "done"


def test_complete_list_value_and_collect_and_execute_subfields_complete_what_the_plans_hand_back() -> None:
    executor = built_executor()
    fields = root_fields(executor)
    query_type, leaf_type = type_named("Query"), type_named("Leaf")
    field_def = query_type.fields["leaves"]
    path = Path(None, "leaves", "Query")
    info = executor.build_resolve_info(field_def, to_nodes(fields["leaves"]), query_type, path)
    list_type = field_def.type.of_type
    assert isinstance(list_type, GraphQLList)
    completed = executor.complete_list_value(list_type, fields["leaves"], info, path, ROOT.leaves, None)
    assert completed == [{"name": "a", "shade": "LIGHT"}, {"name": "b", "shade": "DARK"}]
    sure_path = Path(None, "sure", "Query")
    sure = executor.collect_and_execute_subfields(leaf_type, fields["sure"], sure_path, ROOT.sure, None)
    assert sure == {"name": "s"}


async def test_middleware_manager_lists_the_extensions_that_hook_every_resolver() -> None:
    managers: list[Any] = []

    class Recording(StrawberryGraphQLCoreExecutionContext):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            managers.append(self.middleware_manager)

    class Hook(SchemaExtension):
        def resolve(self, _next: Any, root: Any, info: Any, *args: Any, **kwargs: Any) -> Any:
            return _next(root, info, *args, **kwargs)

    for extensions, hooked in (([], False), ([Hook], True)):
        schema = strawberry.Schema(query=Query, extensions=extensions, execution_context_class=Recording)
        assert (await schema.execute("{ sure { name } }", root_value=ROOT)).errors is None
        manager = managers.pop()
        assert bool(manager is not None and manager.middlewares) is hooked


def test_paths_are_named_tuples_of_prev_key_and_typename() -> None:
    assert Path._fields == ("prev", "key", "typename")
    built = path_of((path_of((None, "leaves", "Query")), 0, None))
    assert built == Path(Path(None, "leaves", "Query"), 0, None)
    assert built.as_list() == ["leaves", 0]


async def test_the_null_error_of_a_plan_is_graphql_cores_own_message() -> None:
    @strawberry.type
    class Broken:
        @strawberry.field
        def sure(self) -> Leaf:
            missing: Any = None
            return missing

    schema = strawberry.Schema(query=Broken)
    result = await schema.execute("{ sure { name } }")
    assert result.errors is not None
    query_type = schema._schema.query_type
    assert query_type is not None
    plan = plan_field(schema._schema, query_type, "sure")
    assert isinstance(plan, CompositePlan)
    assert str(plan.null_error()) == result.errors[0].message


def test_leaf_types_coerce_output_values_and_refuse_what_graphql_cannot_represent() -> None:
    assert GraphQLInt.coerce_output_value(7) == 7
    with pytest.raises(GraphQLError):
        GraphQLInt.coerce_output_value(2**31)
