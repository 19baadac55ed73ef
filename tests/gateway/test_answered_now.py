"""A resolver declared ``answered_now``: the planned executor takes what its function answers
without calling the resolver (no resolve info), and calls the resolver wherever the function
answers ``LATER``; the answer, errors and paths are the ones Strawberry and graphql-core give.
(On the gateway, a user served stale still goes through its field's resolver, which marks it at
its own path: ``test_cache``.)"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import strawberry
from strawberry.extensions import FieldExtension

from clients.errors import UpstreamUnavailable
from clients.identity import USERS, IdentityUser
from resolvers.cache.request import RequestCache
from resolvers.cache.stale import StaleInfo
from resolvers.loaders import Loaders
from schema.execution import GatewayExecutionContext
from schema.plans import LATER, answered_now
from schema.ready import user_now
from schema.streamline import streamline_resolvers
from tests.clients.support import started


@strawberry.type
class Shelf:
    name: str


class ShelfContext:
    """The shelves a request's "loader" holds by id; which ids the resolvers and functions saw."""

    def __init__(self) -> None:
        self.ready = {"s1": Shelf(name="ready one"), "s2": Shelf(name="ready two")}
        self.resolved: list[tuple[str | None, int]] = []
        self.asked: list[tuple[str | None, int]] = []


def shelf_now(book: Book, context: ShelfContext, args: Mapping[str, Any]) -> Any:
    context.asked.append((book.shelf_id, args["copies"]))
    if args["copies"] < 0:
        raise ValueError("no negative copies")
    if book.shelf_id is None:
        return None
    return context.ready.get(book.shelf_id, LATER)


class Renamed(FieldExtension):
    def resolve(self, next_: Callable[..., Any], source: Any, info: strawberry.Info, **kwargs: Any) -> Any:
        shelf = next_(source, info, **kwargs)
        return None if shelf is None else Shelf(name=shelf.name.upper())


def resolved_shelf(info: strawberry.Info, shelf_id: str | None, copies: int) -> Shelf | None:
    info.context.resolved.append((shelf_id, copies))
    if copies < 0:
        raise ValueError("no negative copies")
    if shelf_id is None:
        return None
    return info.context.ready.get(shelf_id) or Shelf(name=f"{shelf_id} at {info.path.as_list()}")


@strawberry.type
class Book:
    title: str
    shelf_id: strawberry.Private[str | None]

    @strawberry.field(metadata=answered_now(shelf_now))
    def shelf(self, info: strawberry.Info, copies: int = 1) -> Shelf | None:
        return resolved_shelf(info, self.shelf_id, copies)

    @strawberry.field(metadata=answered_now(shelf_now), extensions=[Renamed()])
    def loud_shelf(self, info: strawberry.Info, copies: int = 1) -> Shelf | None:
        return resolved_shelf(info, self.shelf_id, copies)


@strawberry.type
class Library:
    @strawberry.field
    def books(self) -> list[Book]:
        return [Book(title=f"b{index}", shelf_id=shelf) for index, shelf in enumerate(["s1", "s3", None, "s2"])]


async def run(query: str, *, planned: bool) -> tuple[Any, Any, ShelfContext]:
    options = {"execution_context_class": GatewayExecutionContext} if planned else {}
    schema = strawberry.Schema(query=Library, **options)  # type: ignore[arg-type]
    if planned:
        streamline_resolvers(schema)
    context = ShelfContext()
    result = await schema.execute(query, context_value=context)
    errors = [(error.message, error.path) for error in result.errors or []]
    return result.data, errors, context


async def test_a_field_answered_now_skips_its_resolver_where_its_function_answers() -> None:
    query = "{ books { title shelf { name } } }"
    stock, stock_errors, stock_context = await run(query, planned=False)
    planned, planned_errors, planned_context = await run(query, planned=True)

    assert planned == stock
    assert planned_errors == stock_errors == []
    assert [book["shelf"] for book in planned["books"]] == [
        {"name": "ready one"},
        {"name": "s3 at ['books', 1, 'shelf']"},  # LATER: the resolver answered, with its path
        None,
        {"name": "ready two"},
    ]
    assert stock_context.resolved == [("s1", 1), ("s3", 1), (None, 1), ("s2", 1)]
    assert planned_context.asked == [("s1", 1), ("s3", 1), (None, 1), ("s2", 1)]  # the default argument included
    assert planned_context.resolved == [("s3", 1)]


async def test_what_a_function_answered_now_raises_is_the_fields_error_at_its_path() -> None:
    query = "{ books { title shelf(copies: -1) { name } } }"
    stock, stock_errors, _ = await run(query, planned=False)
    planned, planned_errors, planned_context = await run(query, planned=True)

    assert planned == stock
    assert planned_errors == stock_errors
    assert planned_errors == [("no negative copies", ["books", index, "shelf"]) for index in range(4)]
    assert planned_context.resolved == []


async def test_a_field_with_an_extension_calls_its_resolver_even_when_answered_now() -> None:
    data, errors, context = await run("{ books { loudShelf(copies: 2) { name } } }", planned=True)

    assert errors == []
    assert [book["loudShelf"] for book in data["books"]] == [
        {"name": "READY ONE"},
        {"name": "S3 AT ['BOOKS', 1, 'LOUDSHELF']"},
        None,
        {"name": "READY TWO"},
    ]
    assert context.asked == []
    assert context.resolved == [("s1", 2), ("s3", 2), (None, 2), ("s2", 2)]


def identity_user(user_id: str) -> IdentityUser:
    return IdentityUser(
        id=user_id, org_id="org-1", name=f"name of {user_id}", updated_at=datetime(2026, 1, 1, tzinfo=UTC), etag="e"
    )


async def test_a_user_is_answered_now_only_when_its_loader_holds_it_fresh(sandbox: Any) -> None:
    upstreams = await started(sandbox.urls, sandbox.credentials)
    try:
        engine = SimpleNamespace(clock=lambda: 0.0, l1=None, scopes={})
        cache = RequestCache(engine)  # type: ignore[arg-type]  # reads the clock and finds no L1
        context = SimpleNamespace(loaders=Loaders.build(upstreams, cache), users={})
        fresh, stale = identity_user("user-1"), identity_user("user-2")
        users = context.loaders[USERS]
        users.prime("user-1", fresh).prime("user-2", stale).prime("user-3", None)
        users.prime_answer("user-4", UpstreamUnavailable("down", upstream="identity"))
        cache.stale.record(stale, StaleInfo(upstream="identity", age_s=100.0))

        assert user_now(context, None) is None
        assert user_now(context, "user-3") is None  # not found: the resolver's None too
        assert user_now(context, "user-4") is LATER  # failed: the resolver reports it
        assert user_now(context, "user-2") is LATER  # served stale: the resolver marks it
        assert context.users == {}
        assert user_now(context, "user-1") is fresh
        assert context.users == {"user-1": fresh}  # kept in the response's memo, as the resolver keeps it
    finally:
        await upstreams.close()
