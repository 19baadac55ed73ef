"""The planned executor (plain leaves, objects and lists of objects) and the streamlined ``self,
info`` resolvers answer exactly what Strawberry and graphql-core answer: same data, same errors at
the same paths (null in a non-null field or item, a value the enum refuses, a resolver that
raises, sync or async), the same null propagation, and an extension that hooks field resolution
still sees every field. Abstract types, fragments and directives with variables are covered too,
and a resolver declared ``from_memo``: its memo's value where it holds one, the resolver otherwise."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from enum import Enum
from typing import Any

import strawberry
from strawberry.extensions import FieldExtension, SchemaExtension
from strawberry.schema.config import StrawberryConfig

from schema.execution import GatewayExecutionContext
from schema.plans import from_memo
from schema.streamline import streamline_resolvers


@strawberry.enum
class Colour(Enum):
    RED = "red"
    BLUE = "blue"


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
class Person:
    id: strawberry.ID
    name: str | None


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


async def test_planned_objects_and_lists_answer_what_graphql_core_answers() -> None:
    variables = {"first": 3, "withDeputy": True, "skipLoose": False}
    stock = await tree_answer(variables)
    planned = await tree_answer(variables, execution_context_class=GatewayExecutionContext)
    assert planned == stock
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
    stock = await tree_answer(variables)
    planned = await tree_answer(variables, execution_context_class=GatewayExecutionContext)
    assert planned == stock
    root = planned["data"]["root"]
    assert "deputy" not in root
    assert "loose" not in root
    assert [len(kid["siblings"]) for kid in root["kids"] if kid] == [1, 1, 1]


async def test_null_in_a_non_null_item_nulls_the_nearest_nullable_parent() -> None:
    query = "{ root { kids: children { id siblings(first: 2) { id required { id } } } } }"
    stock = await tree_answer({}, query)
    planned = await tree_answer({}, query, execution_context_class=GatewayExecutionContext)
    assert planned == stock
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


@strawberry.type
class Member:
    id: strawberry.ID
    name: str


class PeopleContext:
    """A context with a memo of people by id, as the gateway's keeps the users a response has met."""

    def __init__(self) -> None:
        self.people: dict[str, Member] = {}
        self.resolved: list[str | None] = []


class Shouting(FieldExtension):
    def resolve(self, next_: Callable[..., Any], source: Any, info: strawberry.Info, **kwargs: Any) -> Any:
        person = next_(source, info, **kwargs)
        return None if person is None else Member(id=person.id, name=person.name.upper())


def person_for(info: strawberry.Info, person_id: str | None) -> Member | None:
    """What a ``from_memo`` resolver does: the memo's person, or one met now and kept there."""
    context = info.context
    context.resolved.append(person_id)
    if person_id is None:
        return None
    return context.people.setdefault(person_id, Member(id=strawberry.ID(person_id), name=f"person {person_id}"))


@strawberry.type
class Task:
    title: str
    owner_id: strawberry.Private[str | None]

    @strawberry.field(metadata=from_memo("people", "owner_id"))
    def owner(self, info: strawberry.Info) -> Member | None:
        return person_for(info, self.owner_id)

    @strawberry.field(metadata=from_memo("people", "owner_id"), extensions=[Shouting()])
    def loud_owner(self, info: strawberry.Info) -> Member | None:
        return person_for(info, self.owner_id)


@strawberry.type
class Tasks:
    @strawberry.field
    def tasks(self) -> list[Task]:
        return [Task(title=f"t{index}", owner_id=owner) for index, owner in enumerate(["a", "b", "a", None, "a"])]


async def test_a_field_declared_from_memo_answers_the_memos_value_without_its_resolver() -> None:
    answers = []
    for options in ({}, {"execution_context_class": GatewayExecutionContext}):
        schema = strawberry.Schema(query=Tasks, **options)  # type: ignore[arg-type]
        if options:
            streamline_resolvers(schema)
        context = PeopleContext()
        context.people["b"] = Member(id=strawberry.ID("b"), name="known b")
        result = await schema.execute("{ tasks { title owner { id name } } }", context_value=context)
        answers.append((result.data, result.errors, context.resolved))
    (stock, stock_errors, stock_resolved), (planned, planned_errors, planned_resolved) = answers
    assert planned == stock
    assert planned_errors is None
    assert stock_errors is None
    assert [task["owner"] for task in planned["tasks"]] == [
        {"id": "a", "name": "person a"},
        {"id": "b", "name": "known b"},
        {"id": "a", "name": "person a"},
        None,
        {"id": "a", "name": "person a"},
    ]
    assert stock_resolved == ["a", "b", "a", None, "a"]
    assert planned_resolved == ["a", None]  # the first "a" is kept in the memo; no key: the resolver answers


async def test_a_field_with_an_extension_calls_its_resolver_even_when_declared_from_memo() -> None:
    schema = strawberry.Schema(query=Tasks, execution_context_class=GatewayExecutionContext)
    streamline_resolvers(schema)
    context = PeopleContext()
    context.people["b"] = Member(id=strawberry.ID("b"), name="known b")
    result = await schema.execute("{ tasks { loudOwner { name } } }", context_value=context)
    assert result.errors is None
    assert result.data is not None
    assert [task["loudOwner"] for task in result.data["tasks"]] == [
        {"name": "PERSON A"},
        {"name": "KNOWN B"},
        {"name": "PERSON A"},
        None,
        {"name": "PERSON A"},
    ]
    assert context.resolved == ["a", "b", "a", None, "a"]


@strawberry.type
class Badge:
    label: str


@strawberry.type
class Duty:
    title: str
    badges: list[Badge | None]
    owner_id: strawberry.Private[str | None]

    @strawberry.field(metadata=from_memo("people", "owner_id"))
    def owner(self, info: strawberry.Info) -> Member | None:
        return person_for(info, self.owner_id)

    @strawberry.field
    def where(self, info: strawberry.Info) -> str:
        return str(info.path.as_list())


@strawberry.type
class Team:
    name: str
    duties: list[Duty | None]


@strawberry.type
class Roster:
    @strawberry.field
    def teams(self) -> list[Team]:
        broken: Any = None
        return [
            Team(name="ops", duties=[Duty(title="d0", badges=[Badge(label="x")], owner_id="a")]),
            Team(
                name="dev",
                duties=[
                    Duty(title="d1", badges=[Badge(label="y"), Badge(label=broken)], owner_id="b"),
                    Duty(title=broken, badges=[], owner_id="c"),
                ],
            ),
        ]


async def test_errors_and_resolver_paths_deep_in_lists_are_located_as_graphql_core_locates_them() -> None:
    """Leaves read without a path (list items, objects from the memo) that turn out not to be
    plain, and resolvers below them, get the paths graphql-core gives them."""
    query = "{ teams { name duties { title where badges { label } owner { id name } } } }"
    answers = []
    for options in ({}, {"execution_context_class": GatewayExecutionContext}):
        schema = strawberry.Schema(query=Roster, **options)  # type: ignore[arg-type]
        if options:
            streamline_resolvers(schema)
        context = PeopleContext()
        nameless: Any = None
        context.people["b"] = Member(id=strawberry.ID("b"), name=nameless)
        result = await schema.execute(query, context_value=context)
        errors = sorted((error.formatted for error in result.errors or []), key=lambda error: str(error["path"]))
        answers.append((result.data, errors))
    assert answers[1] == answers[0]
    data, errors = answers[1]
    assert [error["path"] for error in errors] == [
        ["teams", 1, "duties", 0, "badges", 1, "label"],
        ["teams", 1, "duties", 0, "owner", "name"],
        ["teams", 1, "duties", 1, "title"],
    ]
    assert data is not None
    ops, dev = data["teams"]
    assert ops["duties"][0]["where"] == "['teams', 0, 'duties', 0, 'where']"
    assert ops["duties"][0]["owner"] == {"id": "a", "name": "person a"}
    assert dev["duties"][0]["badges"] == [{"label": "y"}, None]
    assert dev["duties"][0]["owner"] is None
    assert dev["duties"][0]["where"] == "['teams', 1, 'duties', 0, 'where']"
    assert dev["duties"][1] is None
