"""The small schema the executor-internals tests exercise graphql-core's and Strawberry's entry points
on, with what the executor meets in the gateway's: an enum, a resolver with a scalar argument and
info, a list of objects, a nullable and a non-null object."""

from __future__ import annotations

from enum import Enum
from typing import Any

import strawberry
from graphql import (
    GraphQLObjectType,
    GraphQLSchema,
    parse,
)
from graphql.execution.collect_fields import collect_fields
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext


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
