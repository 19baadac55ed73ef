"""A resolver declared ``answered_now``: the planned executor takes what its function answers
without calling the resolver (no resolve info), and calls the resolver wherever the function
answers ``LATER``; the answer, errors and paths are the ones Strawberry and graphql-core give.
(On the gateway, a user served stale still goes through its field's resolver, which marks it at
its own path: ``test_cache_stale_and_outages``.)"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import strawberry
from strawberry.extensions import FieldExtension

from clients.billing import CUSTOMERS, SUBSCRIPTIONS, BillingCustomer, BillingSubscription
from clients.errors import UpstreamUnavailable
from clients.identity import MEMBERS, USERS, IdentityOrg, IdentityUser, MembersKey, MembersPage
from resolvers.cache.request import RequestCache
from resolvers.cache.stale import StaleInfo
from resolvers.loaders import Loaders
from schema.execution import GatewayExecutionContext
from schema.identity import billing_now, members_now
from schema.plans import LATER, answered_now
from schema.ready import period_end_now, plan_now, seats_now, status_now, user_now
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


def shelf_label_now(book: Book, context: ShelfContext, args: Mapping[str, Any]) -> Any:
    context.asked.append((book.shelf_id, len(args)))
    if book.shelf_id is None:
        return None
    shelf = context.ready.get(book.shelf_id)
    return LATER if shelf is None else shelf.name


def shelf_rank_now(book: Book, context: ShelfContext, _args: Mapping[str, Any]) -> Any:
    context.asked.append((book.shelf_id, 0))
    return 2**40 if book.shelf_id == "s2" else 3


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

    @strawberry.field(metadata=answered_now(shelf_label_now))
    def shelf_label(self, info: strawberry.Info) -> str | None:
        shelf = resolved_shelf(info, self.shelf_id, 1)
        return None if shelf is None else shelf.name

    @strawberry.field(metadata=answered_now(shelf_rank_now))
    def shelf_rank(self, info: strawberry.Info) -> int:
        info.context.resolved.append((self.shelf_id, 0))
        return 2**40 if self.shelf_id == "s2" else 3

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


async def test_a_leaf_answered_now_skips_its_resolver_where_its_function_answers() -> None:
    query = "{ books { shelfLabel title } }"
    stock, stock_errors, stock_context = await run(query, planned=False)
    planned, planned_errors, planned_context = await run(query, planned=True)

    assert planned == stock
    assert planned_errors == stock_errors == []
    assert planned["books"] == [
        {"shelfLabel": "ready one", "title": "b0"},
        {"shelfLabel": "s3 at ['books', 1, 'shelfLabel']", "title": "b1"},  # LATER: the resolver answered
        {"shelfLabel": None, "title": "b2"},
        {"shelfLabel": "ready two", "title": "b3"},
    ]
    assert stock_context.resolved == [("s1", 1), ("s3", 1), (None, 1), ("s2", 1)]
    assert planned_context.asked == [("s1", 0), ("s3", 0), (None, 0), ("s2", 0)]  # no arguments
    assert planned_context.resolved == [("s3", 1)]


async def test_a_leaf_answered_now_with_a_value_graphql_refuses_is_the_fields_error_at_its_path() -> None:
    query = "{ books { title shelfRank } }"
    stock, stock_errors, _ = await run(query, planned=False)
    planned, planned_errors, planned_context = await run(query, planned=True)

    assert planned == stock
    assert planned_errors == stock_errors
    assert planned_errors == [
        ("Int cannot represent non 32-bit signed integer value: 1099511627776", ["books", 3, "shelfRank"])
    ]
    assert planned_context.resolved == [("s2", 0)]  # the resolver answers where the value is not plain


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


async def test_a_billing_accounts_subscription_fields_are_answered_now_only_when_fresh(sandbox: Any) -> None:
    upstreams = await started(sandbox.urls, sandbox.credentials)
    try:
        engine = SimpleNamespace(clock=lambda: 0.0, l1=None, scopes={})
        cache = RequestCache(engine)  # type: ignore[arg-type]  # reads the clock and finds no L1
        context = SimpleNamespace(loaders=Loaders.build(upstreams, cache), users={})
        fresh = BillingSubscription(
            id="sub-1", customer="cus-1", plan="team", status="active", seats=12, current_period_end=1_800_000_000
        )
        stale = BillingSubscription(
            id="sub-2", customer="cus-2", plan="pro", status="active", seats=3, current_period_end=1_800_000_000
        )
        subscriptions = context.loaders[SUBSCRIPTIONS]
        subscriptions.prime("cus-1", fresh).prime("cus-2", stale).prime("cus-3", None)
        subscriptions.prime_answer("cus-4", UpstreamUnavailable("down", upstream="billing"))
        cache.stale.record(stale, StaleInfo(upstream="billing", age_s=100.0))
        fields = (plan_now, status_now, seats_now, period_end_now)

        def answers(customer_id: str) -> list[Any]:
            return [now(SimpleNamespace(customer_id=customer_id), context, {}) for now in fields]

        assert answers("cus-1") == ["team", "ACTIVE", 12, datetime.fromtimestamp(1_800_000_000, UTC)]
        assert answers("cus-2") == [LATER] * 4  # served stale: the resolvers mark it
        assert answers("cus-3") == [None] * 4  # no subscription: the resolvers' None too
        assert answers("cus-4") == [LATER] * 4  # failed: the resolvers report it
        assert answers("cus-5") == [LATER] * 4  # not loaded yet
    finally:
        await upstreams.close()


async def test_an_organizations_members_and_billing_are_answered_now_only_when_fresh(sandbox: Any) -> None:
    upstreams = await started(sandbox.urls, sandbox.credentials)
    try:
        engine = SimpleNamespace(clock=lambda: 0.0, l1=None, scopes={})
        cache = RequestCache(engine)  # type: ignore[arg-type]  # reads the clock and finds no L1
        context = SimpleNamespace(loaders=Loaders.build(upstreams, cache), users={})
        org = IdentityOrg(id="org-1", name="Acme")
        fresh, stale = identity_user("user-1"), identity_user("user-2")
        members = context.loaders[MEMBERS]
        members.prime(MembersKey("org-1", 2, None), MembersPage(data=[fresh], total_count=3, next_cursor="c2"))
        members.prime(MembersKey("org-1", 2, "c2"), MembersPage(data=[fresh, stale], total_count=3))
        members.prime(MembersKey("org-1", 5, None), None)
        cache.stale.record(stale, StaleInfo(upstream="identity", age_s=100.0))
        customers = context.loaders[CUSTOMERS]
        customers.prime("org-1", BillingCustomer(id="cus-1", org_id="org-1", name="Acme")).prime("org-2", None)
        customers.prime_answer("org-3", UpstreamUnavailable("down", upstream="billing"))

        page = members_now(org, context, {"first": 2})
        assert (page.total_count, page.page_info.has_next_page, page.page_info.end_cursor) == (3, True, "c2")
        assert page.nodes == [fresh]
        assert context.users == {"user-1": fresh}  # kept in the response's memo, as the resolver keeps them
        assert (
            members_now(org, context, {"first": 2, "after": "c2"}) is LATER
        )  # a user served stale: the resolver marks it
        empty = members_now(org, context, {"first": 5})
        assert (empty.total_count, empty.page_info.has_next_page, empty.nodes) == (0, False, [])
        assert members_now(org, context, {"first": 0}) is LATER  # the async resolver raises, after its siblings

        assert billing_now(org, context, {}).customer_id == "cus-1"
        assert billing_now(IdentityOrg(id="org-2", name="none"), context, {}) is None
        assert billing_now(IdentityOrg(id="org-3", name="down"), context, {}) is LATER  # the resolver reports it
    finally:
        await upstreams.close()
