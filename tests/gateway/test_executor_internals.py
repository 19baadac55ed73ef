"""The internals the planned executor is written against, each pinned by a test named after it.

``schema/execution.py`` (with ``execution_state.py``) subclasses graphql-core 3.3's executor and
calls its per-field methods; ``schema/plans.py`` and ``schema/streamline.py`` read Strawberry's field definitions;
``schema/lockstep.py`` steps coroutines itself, as asyncio's tasks do. None of that is public API.
The releases it was read from are pinned exactly in ``pyproject.toml``; a release that moves one of
these entry points fails here, by name, instead of answering wrongly. To move a pin: install the new
release, make this file pass, then update ``WRITTEN_AGAINST`` and the pin together (or run with
``execution.planned: false`` meanwhile).
"""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
import tomllib
from collections.abc import AsyncGenerator, AsyncIterator, Coroutine
from copy import copy
from enum import Enum
from importlib.metadata import version
from pathlib import Path as FilePath
from types import CoroutineType
from typing import Any

import pytest
import strawberry
import uvloop
from graphql import (
    GraphQLError,
    GraphQLInt,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    parse,
)
from graphql.execution.collect_fields import FieldDetails, collect_fields
from graphql.execution.executor import to_nodes
from graphql.execution.values import get_argument_values
from graphql.pyutils import Path
from packaging.requirements import Requirement
from strawberry.extensions import SchemaExtension
from strawberry.relay import GlobalID
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.base import StrawberryList, StrawberryMaybe, StrawberryOptional
from strawberry.types.field import StrawberryField
from strawberry.types.info import Info

from schema.execution import GatewayExecutionContext
from schema.plans import CompositePlan, plan_field
from schema.positions import path_of

WRITTEN_AGAINST = {"graphql-core": "3.3.2", "strawberry-graphql": "0.341.2"}
"""The releases whose internals the planned executor was read from and tested against."""

PYPROJECT = FilePath(__file__).parents[2] / "pyproject.toml"
EXECUTOR_FILES = "schema/execution.py, execution_state.py, steps.py, plans.py, streamline.py, collected.py, lockstep.py"


def pinned_requirements() -> dict[str, Requirement]:
    dependencies = tomllib.loads(PYPROJECT.read_text())["project"]["dependencies"]
    requirements = [Requirement(dependency) for dependency in dependencies]
    return {requirement.name: requirement for requirement in requirements if requirement.name in WRITTEN_AGAINST}


def test_pyproject_pins_exactly_the_releases_the_executor_was_written_against() -> None:
    pins = {name: str(requirement.specifier) for name, requirement in pinned_requirements().items()}
    assert pins == {name: f"=={release}" for name, release in WRITTEN_AGAINST.items()}, (
        f"pyproject.toml must pin {WRITTEN_AGAINST} exactly: {EXECUTOR_FILES} rely on their internals"
    )


def test_installed_releases_are_the_ones_the_executor_was_written_against() -> None:
    installed = {name: version(name) for name in WRITTEN_AGAINST}
    assert installed == WRITTEN_AGAINST, (
        f"installed {installed}, but {EXECUTOR_FILES} were written against {WRITTEN_AGAINST}: "
        "reinstall (scripts/bootstrap --dev), or make this file pass on the new releases and move the pins "
        "(production can run with execution.planned: false meanwhile)"
    )


# A small schema with what the executor meets in the gateway's: an enum, a resolver with a scalar
# argument and info, a list of objects, a nullable and a non-null object.


@strawberry.enum
class Shade(Enum):
    LIGHT = "light"
    DARK = "dark"


@strawberry.type
class Leaf:
    name: str
    shade: Shade


@strawberry.type
class Query:
    leaves: list[Leaf]
    maybe: Leaf | None
    sure: Leaf

    @strawberry.field
    def sized(self, info: strawberry.Info, size: int = 1, tags: list[str] | None = None) -> str:
        return f"{info.field_name} {size} {tags}"


ROOT = Query(
    leaves=[Leaf(name="a", shade=Shade.LIGHT), Leaf(name="b", shade=Shade.DARK)],
    maybe=None,
    sure=Leaf(name="s", shade=Shade.DARK),
)
SCHEMA = strawberry.Schema(query=Query)
DOCUMENT = "query Q($size: Int!) { leaves { name shade } maybe { name } sure { name } sized(size: $size) }"


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


def graphql_schema() -> GraphQLSchema:
    return SCHEMA._schema


def type_named(name: str) -> GraphQLObjectType:
    graphql_type = graphql_schema().type_map[name]
    assert isinstance(graphql_type, GraphQLObjectType)
    return graphql_type


def built_executor(document: str = DOCUMENT, variables: dict[str, Any] | None = None) -> Any:
    executor = StrawberryGraphQLCoreExecutionContext.build(
        graphql_schema(), parse(document), root_value=ROOT, raw_variable_values=variables or {"size": 3}
    )
    assert isinstance(executor, StrawberryGraphQLCoreExecutionContext), executor
    return executor


def root_fields(executor: Any) -> dict[str, Any]:
    grouped, _, _ = collect_fields(
        executor.schema,
        executor.fragments,
        executor.variable_values,
        type_named("Query"),
        executor.operation,
        executor.hide_suggestions,
    )
    return dict(grouped)


# graphql-core: the executor class and the methods the planned path calls or overrides


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


# Strawberry: what plans.py and streamline.py read from its definitions


def test_each_graphql_field_carries_its_strawberry_field_under_the_definition_backref() -> None:
    query_type = type_named("Query")
    sized = query_type.fields["sized"].extensions[GraphQLCoreConverter.DEFINITION_BACKREF]
    leaves = query_type.fields["leaves"].extensions[GraphQLCoreConverter.DEFINITION_BACKREF]
    assert isinstance(sized, StrawberryField)
    assert isinstance(leaves, StrawberryField)
    assert leaves.is_basic_field
    assert not sized.is_basic_field
    assert leaves.python_name == "leaves"
    assert leaves.default_resolver(ROOT, leaves.python_name) is ROOT.leaves
    assert all(field.resolve is not None for field in query_type.fields.values())


def test_the_graphql_schema_links_back_to_its_strawberry_schema_and_exception_handlers() -> None:
    assert graphql_schema()._strawberry_schema is SCHEMA  # type: ignore[attr-defined]
    assert not SCHEMA.exception_handlers


def test_strawberry_enum_types_keep_their_python_enum_and_values() -> None:
    shade = graphql_schema().type_map["Shade"]
    assert shade.wrapped_cls is Shade  # type: ignore[attr-defined]
    assert {name: value.value for name, value in shade.values.items()} == {"LIGHT": "light", "DARK": "dark"}  # type: ignore[attr-defined]


def test_resolvers_expose_their_function_self_info_and_arguments_as_streamline_reads_them() -> None:
    definition = type_named("Query").fields["sized"].extensions[GraphQLCoreConverter.DEFINITION_BACKREF]
    resolver = definition.base_resolver
    assert callable(resolver.wrapped_func)
    assert resolver.self_parameter.name == "self"
    assert resolver.info_parameter.name == "info"
    assert list(resolver.signature.parameters) == ["self", "info", "size", "tags"]
    assert not definition.extensions
    size, tags = definition.arguments
    assert (size.python_name, size.type) == ("size", int)
    assert SCHEMA.config.name_converter.from_argument(tags) == "tags"
    assert isinstance(tags.type, StrawberryOptional)
    assert isinstance(tags.type.of_type, StrawberryList)
    assert tags.type.of_type.of_type is str
    assert isinstance(StrawberryMaybe, type)
    assert isinstance(GlobalID, type)


def test_the_info_class_is_built_from_the_raw_info_and_the_field() -> None:
    executor = built_executor()
    field_def = type_named("Query").fields["sized"]
    raw = executor.build_resolve_info(
        field_def, to_nodes(root_fields(executor)["sized"]), type_named("Query"), Path(None, "sized", "Query")
    )
    definition = field_def.extensions[GraphQLCoreConverter.DEFINITION_BACKREF]
    info = SCHEMA.config.info_class(_raw_info=raw, _field=definition)
    assert info.field_name == "sized"
    assert info.path.as_list() == ["sized"]
    assert info.schema is SCHEMA
    # schema/streamline.py fills Strawberry's Info in without its __init__: a dataclass of exactly these
    assert [field.name for field in dataclasses.fields(Info)] == ["_raw_info", "_field"]
    assert not hasattr(Info, "__post_init__")
    assert vars(info) == {"_raw_info": raw, "_field": definition}


def test_a_non_null_field_type_wraps_the_type_the_plans_unwrap() -> None:
    sure = type_named("Query").fields["sure"].type
    assert isinstance(sure, GraphQLNonNull)
    assert sure.of_type is type_named("Leaf")


# asyncio: what lockstep.py does in place of tasks


def first_yield(coroutine: Coroutine[Any, Any, Any]) -> Any:
    assert type(coroutine) is CoroutineType
    yielded = coroutine.send(None)
    coroutine.close()
    return yielded


@pytest.mark.parametrize("loop_factory", [asyncio.new_event_loop, uvloop.new_event_loop], ids=["asyncio", "uvloop"])
def test_awaiting_a_pending_future_yields_it_marked_as_blocking(loop_factory: Any) -> None:
    loop = loop_factory()
    try:
        future = loop.create_future()

        async def waits() -> Any:
            return await future

        yielded = first_yield(waits())
        assert yielded is future
        assert yielded._asyncio_future_blocking is True
        yielded._asyncio_future_blocking = False
        assert inspect.isawaitable(future)
    finally:
        loop.close()


def test_a_bare_sleep_zero_yields_none() -> None:
    async def yields() -> None:
        await asyncio.sleep(0)

    assert first_yield(yields()) is None
