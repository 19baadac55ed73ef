"""The planned executor reads plain leaves as graphql-core completes them: same data, same errors at
the same paths (null in a non-null field, a value the enum refuses, Int and Float out of range, a
streamlined ``self, info`` resolver that raises, sync or async), and an extension that hooks field
resolution still sees every field."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import strawberry
from short_path_support import Colour
from strawberry.extensions import SchemaExtension

from schema.execution import GatewayExecutionContext
from schema.streamline import streamline_resolvers


@strawberry.type
class Item:
    id: strawberry.ID
    name: str
    count: int
    colour: Colour
    note: str | None
    label: str = strawberry.field(name="title")

    @strawberry.field
    def shout(self, info: strawberry.Info) -> str:
        return f"{self.label.upper()} at {info.path.as_list()}"

    @strawberry.field
    async def whisper(self, info: strawberry.Info) -> str | None:
        if self.count == 4:
            raise ValueError("too loud")
        return f"{self.label} for {info.context['who']}"


async def later_name() -> str:
    return "later"


def items() -> list[Item]:
    broken_name: Any = None
    broken_colour: Any = "green"
    awaitable_name: Any = later_name()
    return [
        Item(id=strawberry.ID("1"), name="one", count=1, colour=Colour.RED, note=None, label="first"),
        Item(id=strawberry.ID("2"), name=broken_name, count=2, colour=Colour.BLUE, note="n", label="second"),
        Item(id=strawberry.ID("3"), name="three", count=3, colour=broken_colour, note=None, label="third"),
        Item(id=strawberry.ID("4"), name=awaitable_name, count=4, colour=Colour.RED, note=None, label="fourth"),
    ]


@strawberry.type
class Query:
    @strawberry.field
    def items(self) -> list[Item | None]:
        return items()


QUERY = "{ items { id name count colour note title again: title shout whisper __typename } }"


class CountResolves(SchemaExtension):
    seen: list[str] = []

    def resolve(
        self, _next: Callable[..., Any], root: Any, info: strawberry.Info, *args: Any, **kwargs: Any
    ) -> Awaitable[Any] | Any:
        CountResolves.seen.append(info.field_name)
        return _next(root, info, *args, **kwargs)


async def answer(*, streamline: bool = False, **options: Any) -> dict[str, Any]:
    schema = strawberry.Schema(query=Query, **options)
    if streamline:
        streamline_resolvers(schema)
    result = await schema.execute(QUERY, context_value={"who": "ada"})
    return {"data": result.data, "errors": [error.formatted for error in result.errors or []]}


async def test_short_path_answers_what_graphql_core_answers() -> None:
    stock = await answer()
    short = await answer(execution_context_class=GatewayExecutionContext, streamline=True)
    assert short == stock
    items = short["data"]["items"]
    assert items[0] == {
        "id": "1",
        "name": "one",
        "count": 1,
        "colour": "RED",
        "note": None,
        "title": "first",
        "again": "first",
        "shout": "FIRST at ['items', 0, 'shout']",
        "whisper": "first for ada",
        "__typename": "Item",
    }
    assert items[1] is None
    assert items[2] is None
    assert items[3]["name"] == "later"
    assert items[3]["whisper"] is None
    assert sorted(error["path"] for error in short["errors"]) == [
        ["items", 1, "name"],
        ["items", 2, "colour"],
        ["items", 3, "whisper"],
    ]


async def test_an_extension_that_hooks_resolution_still_sees_every_leaf() -> None:
    CountResolves.seen = []
    stock = await answer(extensions=[CountResolves])
    stock_seen = sorted(CountResolves.seen)
    CountResolves.seen = []
    short = await answer(extensions=[CountResolves], execution_context_class=GatewayExecutionContext, streamline=True)
    assert short == stock
    assert sorted(CountResolves.seen) == stock_seen
    assert stock_seen.count("name") == 4
    assert stock_seen.count("shout") == 2  # the items at 1 and 2 stop at their failing leaf


@strawberry.type
class Measure:
    label: str
    count: int
    ratio: float
    colour: Colour


@strawberry.type
class Measures:
    @strawberry.field
    def measures(self) -> list[Measure | None]:
        return [
            Measure(label="fine", count=2**31 - 1, ratio=0.5, colour=Colour.BLUE),
            Measure(label="too big", count=2**31, ratio=0.5, colour=Colour.RED),
            Measure(label="not finite", count=1, ratio=float("inf"), colour=Colour.RED),
        ]


async def test_leaves_read_together_keep_the_range_checks_of_int_and_float() -> None:
    async def run(**options: Any) -> dict[str, Any]:
        result = await strawberry.Schema(query=Measures, **options).execute("{ measures { colour label count ratio } }")
        return {"data": result.data, "errors": [error.formatted for error in result.errors or []]}

    stock = await run()
    planned = await run(execution_context_class=GatewayExecutionContext)
    assert planned == stock
    assert planned["data"]["measures"] == [
        {"colour": "BLUE", "label": "fine", "count": 2**31 - 1, "ratio": 0.5},
        None,
        None,
    ]
    assert [error["path"] for error in planned["errors"]] == [["measures", 1, "count"], ["measures", 2, "ratio"]]
