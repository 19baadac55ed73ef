"""The planned executor completes objects and lists of objects as graphql-core does: abstract types,
fragments, directives and arguments with variables, nulls propagating to the nearest nullable
parent, failing and pending list items; streamlined resolvers get the arguments Strawberry passes."""

from __future__ import annotations

from typing import Any

import strawberry
from short_path_support import Colour, Person

from schema.execution import GatewayExecutionContext
from schema.streamline import streamline_resolvers


@strawberry.interface
class Named:
    name: str


@strawberry.type
class Tag(Named):
    colour: Colour


@strawberry.type
class Node:
    id: strawberry.ID
    owner: Person
    deputy: Person | None
    children: list[Node | None]
    loose: list[Node | None] | None
    tag: Named | None

    @strawberry.field
    async def later(self, info: strawberry.Info) -> Person | None:
        if self.id == "boom":
            raise ValueError("no later")
        return Person(id=strawberry.ID(f"later-{self.id}"), name=info.context["who"])

    @strawberry.field
    def required(self) -> Person:
        missing: Any = None
        return missing if self.id in {"c2", "c1-s1"} else self.owner

    @strawberry.field
    async def siblings(self, first: int = 2) -> list[Node]:
        return [leaf(f"{self.id}-s{i}") for i in range(first)]

    @strawberry.field
    def pending(self) -> list[Person | None]:
        async def person(i: int) -> Person | None:
            if i == 1:
                return None
            return Person(id=strawberry.ID(f"p{i}"), name=f"pending {i}")

        awaitables: Any = [person(i) for i in range(3)]
        return awaitables  # type: ignore[no-any-return]

    @strawberry.field
    def explode(self) -> Person | None:
        raise RuntimeError("exploded")


def leaf(node_id: str, *, children: list[Node | None] | None = None) -> Node:
    nameless: Any = None
    return Node(
        id=strawberry.ID(node_id),
        owner=Person(id=strawberry.ID(f"o-{node_id}"), name=nameless if node_id == "c1" else f"owner {node_id}"),
        deputy=None,
        children=children or [],
        loose=[None, leaf(f"{node_id}-x")] if node_id == "root" else None,
        tag=Tag(name="t", colour=Colour.BLUE) if node_id == "root" else None,
    )


@strawberry.input
class Window:
    size: int
    colour: Colour = Colour.BLUE


@strawberry.type
class Tree:
    @strawberry.field
    def root(self) -> Node:
        return leaf("root", children=[leaf("c0"), leaf("c1"), leaf("c2"), leaf("boom")])

    @strawberry.field
    def echo(
        self,
        info: strawberry.Info,
        colour: Colour = Colour.RED,
        tags: list[str] = ["d"],  # noqa: B006  # the shared GraphQL default under test
        limit: int | None = None,
    ) -> str:
        tags.append("seen")  # a resolver that changes its list must not change the next request's default
        return f"{info.field_name} {colour.name} {tags} {limit}"

    @strawberry.field
    async def framed(self, window: Window, by: strawberry.ID | None = None) -> str:
        return f"{window.size} {window.colour.name} {by}"


TREE_QUERY = """
query Tree($first: Int!, $withDeputy: Boolean!, $skipLoose: Boolean!) {
  root {
    __typename
    id
    ...Owners
    deputy @include(if: $withDeputy) { id }
    loose @skip(if: $skipLoose) { id owner { id } }
    tag { __typename name ... on Tag { colour } }
    kids: children {
      id
      owner { id name }
      alsoOwner: owner { name }
      later { id name }
      required { id }
      siblings(first: $first) { id siblings { id } }
      pending { id name }
      explode { id }
    }
  }
}
fragment Owners on Node { owner { id name } }
"""


async def tree_answer(variables: dict[str, Any], query: str = TREE_QUERY, **options: Any) -> dict[str, Any]:
    schema = strawberry.Schema(query=Tree, types=[Tag], **options)
    if "execution_context_class" in options:
        streamline_resolvers(schema)
    result = await schema.execute(query, variable_values=variables, context_value={"who": "ada"})
    errors = sorted((error.formatted for error in result.errors or []), key=lambda error: str(error["path"]))
    return {"data": result.data, "errors": errors}


async def planned_answer(variables: dict[str, Any], query: str = TREE_QUERY) -> dict[str, Any]:
    """The planned executor's answer, once held equal to graphql-core's."""
    stock = await tree_answer(variables, query)
    planned = await tree_answer(variables, query, execution_context_class=GatewayExecutionContext)
    assert planned == stock
    return planned


async def test_planned_objects_and_lists_answer_what_graphql_core_answers() -> None:
    variables = {"first": 3, "withDeputy": True, "skipLoose": False}
    planned = await planned_answer(variables)
    root = planned["data"]["root"]
    assert root["owner"] == {"id": "o-root", "name": "owner root"}
    assert root["deputy"] is None
    assert root["loose"] == [None, {"id": "root-x", "owner": {"id": "o-root-x"}}]
    assert root["tag"] == {"__typename": "Tag", "name": "t", "colour": "BLUE"}
    kids = root["kids"]
    assert kids[0]["later"] == {"id": "later-c0", "name": "ada"}
    assert [sibling["id"] for sibling in kids[0]["siblings"]] == ["c0-s0", "c0-s1", "c0-s2"]
    assert kids[0]["pending"] == [{"id": "p0", "name": "pending 0"}, None, {"id": "p2", "name": "pending 2"}]
    assert kids[1]["owner"] == {"id": "o-c1", "name": None}
    assert kids[2] is None  # `required` returned null: the non-null item nulls the whole child
    assert kids[3]["later"] is None
    assert [error["path"] for error in planned["errors"]] == [
        ["root", "kids", 0, "explode"],
        ["root", "kids", 1, "explode"],
        ["root", "kids", 2, "required"],
        ["root", "kids", 3, "explode"],
        ["root", "kids", 3, "later"],
    ]


async def test_planned_execution_follows_variables_in_directives_and_arguments() -> None:
    variables = {"first": 1, "withDeputy": False, "skipLoose": True}
    planned = await planned_answer(variables)
    root = planned["data"]["root"]
    assert "deputy" not in root
    assert "loose" not in root
    assert [len(kid["siblings"]) for kid in root["kids"] if kid] == [1, 1, 1]


async def test_null_in_a_non_null_item_nulls_the_nearest_nullable_parent() -> None:
    query = "{ root { kids: children { id siblings(first: 2) { id required { id } } } } }"
    planned = await planned_answer({}, query)
    kids = planned["data"]["root"]["kids"]
    assert kids[1] is None  # siblings is [Node!]!: the null climbs to the nullable child
    assert [kid["id"] for kid in kids if kid] == ["c0", "c2", "boom"]
    assert [error["path"] for error in planned["errors"]] == [["root", "kids", 1, "siblings", 1, "required"]]


async def test_streamlined_resolvers_receive_the_arguments_strawberry_would_pass() -> None:
    query = """query Echo($tags: [String!]!) {
      a: echo
      b: echo(colour: BLUE, tags: $tags, limit: 3)
      c: echo(tags: [])
      d: framed(window: {size: 2})
      e: framed(window: {size: 3, colour: RED}, by: "7")
    }"""
    variables = {"tags": ["x", "y"]}
    stock = [await tree_answer(variables, query) for _ in range(2)]
    lean = [await tree_answer(variables, query, execution_context_class=GatewayExecutionContext) for _ in range(2)]
    assert lean == stock
    streamlined = strawberry.Schema(query=Tree, types=[Tag])
    streamline_resolvers(streamlined)
    fields = streamlined._schema.query_type.fields  # type: ignore[union-attr]
    assert fields["echo"].resolve.__module__ == "schema.streamline"  # type: ignore[union-attr]
    assert fields["framed"].resolve.__module__ != "schema.streamline"  # type: ignore[union-attr]  # an input object
    assert lean[1]["data"] == {
        "a": "echo RED ['d', 'seen'] None",
        "b": "echo BLUE ['x', 'y', 'seen'] 3",
        "c": "echo RED ['seen'] None",
        "d": "2 BLUE None",
        "e": "3 RED 7",
    }


@strawberry.type
class Crowd:
    @strawberry.field
    def people(self) -> list[Person | None]:
        async def later() -> Person:
            return Person(id=strawberry.ID("p-later"), name="later")

        items: Any = [
            Person(id=strawberry.ID("p0"), name="first"),
            None,
            ValueError("no such person"),
            later(),
            Person(id=strawberry.ID("p4"), name="last"),
        ]
        return items  # type: ignore[no-any-return]


async def test_nulls_errors_and_pending_items_after_a_plain_one_are_still_completed_as_such() -> None:
    answers = []
    for options in ({}, {"execution_context_class": GatewayExecutionContext}):
        schema = strawberry.Schema(query=Crowd, **options)  # type: ignore[arg-type]
        result = await schema.execute("{ people { id name } }")
        answers.append((result.data, [(error.message, error.path) for error in result.errors or []]))
    assert answers[1] == answers[0]
    data, errors = answers[1]
    assert data == {
        "people": [
            {"id": "p0", "name": "first"},
            None,
            None,
            {"id": "p-later", "name": "later"},
            {"id": "p4", "name": "last"},
        ]
    }
    assert errors == [("no such person", ["people", 2])]
