"""The leaves a selection starts with are read in one go (``schema.plans.read_leaves``); the
answers are graphql-core's: any alias, a value that is not plain at any position, an enum held as
its value, a schema's own default resolver, selections of the same shape and of every shape."""

from __future__ import annotations

from enum import Enum
from operator import getitem
from typing import Any

import strawberry
from strawberry.schema.config import StrawberryConfig

from schema.execution import GatewayExecutionContext


@strawberry.enum
class Level(Enum):
    LOW = "low"
    HIGH = "high"


@strawberry.type
class Reading:
    id: strawberry.ID
    label: str | None
    count: int
    ratio: float
    level: Level
    on: bool

    @strawberry.field
    def twice(self) -> Reading:
        return self


def reading(index: int, **changes: Any) -> Reading:
    values: dict[str, Any] = {
        "id": strawberry.ID(f"r{index}"),
        "label": f"reading {index}",
        "count": index,
        "ratio": index / 2,
        "level": Level.HIGH if index % 2 else Level.LOW,
        "on": index % 3 == 0,
    }
    values.update(changes)
    return Reading(**values)


@strawberry.type
class Readings:
    @strawberry.field
    def readings(self) -> list[Reading | None]:
        odd: dict[str, Any] = {"label": None, "count": 2**31, "level": "medium", "ratio": float("nan"), "on": 1}
        return [
            reading(0),
            *(reading(index, **{name: value}) for index, (name, value) in enumerate(odd.items(), start=1)),
            reading(6),
        ]


async def both(query: str, query_type: type = Readings, **options: Any) -> tuple[Any, Any]:
    answers = []
    for executor in ({}, {"execution_context_class": GatewayExecutionContext}):
        result = await strawberry.Schema(query=query_type, **options, **executor).execute(query)
        answers.append((result.data, sorted((str(error.path), error.message) for error in result.errors or [])))
    return answers[0], answers[1]


async def test_leaves_read_first_answer_what_graphql_core_answers_for_plain_and_odd_values() -> None:
    stock, planned = await both("{ readings { id label count ratio level on twice { id level } } }")
    assert planned == stock
    data, errors = planned
    assert data["readings"][0] == {
        "id": "r0",
        "label": "reading 0",
        "count": 0,
        "ratio": 0.0,
        "level": "LOW",
        "on": True,
        "twice": {"id": "r0", "level": "LOW"},
    }
    assert data["readings"][1]["label"] is None
    assert data["readings"][5]["on"] is True  # an int where a Boolean is due: coerced, as graphql-core does
    assert [path for path, _ in errors] == [
        "['readings', 2, 'count']",
        "['readings', 3, 'level']",
        "['readings', 4, 'ratio']",
    ]


@strawberry.type
class Words:
    @strawberry.field
    def readings(self) -> list[Reading | None]:
        """The level as an upstream value holds it: its enum's value, not a member."""
        return [reading(index, level=word) for index, word in enumerate(["low", "high", "HIGH", "medium"])]


async def test_an_enum_value_held_as_its_value_answers_its_name_as_graphql_core_does() -> None:
    stock, planned = await both("{ readings { id level } }", Words)
    assert planned == stock
    data, errors = planned
    assert [row and row["level"] for row in data["readings"]] == ["LOW", "HIGH", None, None]
    assert [path for path, _ in errors] == ["['readings', 2, 'level']", "['readings', 3, 'level']"]


async def test_aliases_are_answered_as_given_whatever_they_spell() -> None:
    query = """{ readings {
      source: id return: label None: count is_awaitable: level k0: on v1: id not_plain: label __class__: count
    } }"""
    stock, planned = await both(query)
    assert planned == stock
    assert planned[0]["readings"][0] == {
        "source": "r0",
        "return": "reading 0",
        "None": 0,
        "is_awaitable": "LOW",
        "k0": True,
        "v1": "r0",
        "not_plain": "reading 0",
        "__class__": 0,
    }


async def test_selections_of_the_same_shape_keep_their_own_names() -> None:
    stock, planned = await both("{ readings { a: id b: label } again: readings { c: id d: label } }")
    assert planned == stock
    assert planned[0]["readings"][6] == {"a": "r6", "b": "reading 6"}
    assert planned[0]["again"][6] == {"c": "r6", "d": "reading 6"}


@strawberry.type
class Row:
    key: str
    size: int


@strawberry.type
class Table:
    @strawberry.field
    def rows(self) -> list[Row]:
        rows: Any = [{"key": "a", "size": 1}, {"key": "b", "size": 2}]
        return rows  # type: ignore[no-any-return]  # read by the schema's own default resolver


async def test_a_schema_that_reads_its_fields_its_own_way_is_read_that_way() -> None:
    stock, planned = await both("{ rows { key size } }", Table, config=StrawberryConfig(default_resolver=getitem))
    assert planned == stock
    assert planned[0] == {"rows": [{"key": "a", "size": 1}, {"key": "b", "size": 2}]}


async def test_leaves_are_read_in_any_order_and_number() -> None:
    fields = ["id", "label", "count", "ratio", "level", "on"]
    shapes = [
        [fields[(start + offset) % len(fields)] for offset in range(length)]
        for start in range(len(fields))
        for length in range(1, len(fields) + 1)
    ]
    for shape in shapes:
        stock, planned = await both("{ readings { " + " ".join(shape) + " } }")
        assert planned == stock
        assert list(planned[0]["readings"][0]) == shape
