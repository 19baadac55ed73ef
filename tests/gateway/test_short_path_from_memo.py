"""A resolver declared ``from_memo``: the planned executor answers its memo's value where the memo
holds one and calls the resolver otherwise (and always where the field has an extension), with
errors and resolver paths deep in lists where graphql-core puts them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import strawberry
from strawberry.extensions import FieldExtension

from schema.execution import GatewayExecutionContext
from schema.plans import from_memo
from schema.streamline import streamline_resolvers


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
