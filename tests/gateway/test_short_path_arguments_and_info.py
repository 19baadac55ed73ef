"""What the planned executor hands resolvers: the arguments of a field in a list, the same for every
item with lists of their own, and the info Strawberry would build (the schema's own info class too)."""

from __future__ import annotations

from typing import Any

import strawberry
from short_path_support import Colour
from strawberry.schema.config import StrawberryConfig

from schema.execution import GatewayExecutionContext
from schema.streamline import streamline_resolvers


@strawberry.type
class Books:
    text: str


@strawberry.type
class Shelf:
    id: strawberry.ID

    @strawberry.field
    def books(self, first: int, colour: Colour = Colour.RED, tags: list[str] | None = None) -> Books:
        if tags is not None:
            tags.append(self.id)  # each shelf must get a list of its own, as graphql-core gives it
        return Books(text=f"{self.id}: {first} {colour.name} {tags}")


@strawberry.type
class Library:
    @strawberry.field
    def shelves(self) -> list[Shelf]:
        return [Shelf(id=strawberry.ID(f"s{i}")) for i in range(3)]


async def test_arguments_of_a_field_in_a_list_are_the_same_for_every_item_and_lists_stay_their_own() -> None:
    query = """query Shelves($first: Int!) {
      shelves {
        a: books(first: $first) { text }
        b: books(first: 2, colour: BLUE) { text }
        c: books(first: 1, tags: ["t"]) { text }
      }
    }"""

    async def run(**options: Any) -> dict[str, Any]:
        schema = strawberry.Schema(query=Library, **options)
        if options:
            streamline_resolvers(schema)
        result = await schema.execute(query, variable_values={"first": 5})
        return {"data": result.data, "errors": [error.formatted for error in result.errors or []]}

    stock = await run()
    planned = await run(execution_context_class=GatewayExecutionContext)
    assert planned == stock
    assert planned["data"]["shelves"][2] == {
        "a": {"text": "s2: 5 RED None"},
        "b": {"text": "s2: 2 BLUE None"},
        "c": {"text": "s2: 1 RED ['t', 's2']"},
    }


class OwnInfo(strawberry.Info[Any, Any]):
    """A schema's own info class: its resolvers get an instance of it."""


@strawberry.type
class Seen:
    text: str


@strawberry.type
class Seeing:
    @strawberry.field
    def seen(self, info: strawberry.Info) -> Seen:
        return Seen(text=f"{type(info).__name__} {info.field_name} {info.path.as_list()} {info.context['who']}")

    @strawberry.field
    def many(self) -> list[Seeing]:
        return [Seeing(), Seeing()]


async def test_a_resolver_taking_only_info_gets_the_info_strawberry_would_build() -> None:
    query = "{ seen { text } again: seen { text } many { seen { text } } }"
    for config in (StrawberryConfig(), StrawberryConfig(info_class=OwnInfo)):
        answers = []
        for options in ({}, {"execution_context_class": GatewayExecutionContext}):
            schema = strawberry.Schema(query=Seeing, config=config, **options)  # type: ignore[arg-type]
            if options:
                streamline_resolvers(schema)
            result = await schema.execute(query, context_value={"who": "ada"})
            answers.append((result.data, result.errors))
        assert answers[1] == answers[0]
        data = answers[1][0]
        assert data is not None
        name = config.info_class.__name__
        assert data["again"] == {"text": f"{name} seen ['again'] ada"}
        assert data["many"][1] == {"seen": {"text": f"{name} seen ['many', 1, 'seen'] ada"}}
