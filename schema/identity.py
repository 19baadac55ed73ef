"""Users and organizations.

The objects of ``User`` and ``Organization`` are the identity upstream's values themselves
(``IdentityUser``, ``IdentityOrg``: the GraphQL fields are their attributes), not copies: the
classes below declare the schema, and the fields with resolvers take such a value as ``self``.
Only federation's ``_entities`` builds an instance of these classes (``entity``): Strawberry tells
the members of its union apart by their class.
"""

from __future__ import annotations

from collections.abc import Awaitable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import strawberry

import resolvers.billing
import resolvers.identity
import resolvers.projects
import schema.billing as billing_types
import schema.projects as project_types
from clients.billing import CUSTOMERS, BillingCustomer
from clients.identity import MEMBERS, ORGS, IdentityOrg, IdentityUser, MembersPage
from clients.projects import PROJECT_PAGES, ProjectPage
from resolvers.errors import InvalidArgument
from resolvers.loaders import Loaders
from schema.cache import served
from schema.common import GatewayInfo, PageInfo
from schema.cost import reads
from schema.early_reads import start_reads_ahead
from schema.parts import parts_of
from schema.plans import LATER, answered_now
from schema.ready import fresh
from schema.selection import Selection, read_ahead

if TYPE_CHECKING:
    from schema.billing import BillingAccount
    from schema.projects import ProjectConnection

OrganizationRef = Annotated["Organization", strawberry.lazy("schema.identity")]

PII_READ = [["pii:read"]]
"""``requires_scopes`` of PII fields (``schema.authorization`` enforces it); writing them needs ``pii:write``."""


@strawberry.federation.type(keys=["id"])
class User:
    id: strawberry.ID
    name: str
    updated_at: datetime
    etag: str
    email: str | None = strawberry.federation.field(
        requires_scopes=PII_READ, description="PII: needs the `pii:read` scope; null with a FORBIDDEN error otherwise."
    )
    phone: str | None = strawberry.federation.field(
        requires_scopes=PII_READ, description="PII: needs the `pii:read` scope; null with a FORBIDDEN error otherwise."
    )
    org_id: strawberry.Private[str]

    @classmethod
    def entity(cls, user: IdentityUser) -> User:
        """An instance of this class, for federation's ``_entities``."""
        return cls(
            id=strawberry.ID(user.id),
            name=user.name,
            updated_at=user.updated_at,
            etag=user.etag,
            email=user.email,
            phone=user.phone,
            org_id=user.org_id,
        )

    @strawberry.field(graphql_type=OrganizationRef | None, metadata=reads(ORGS))
    async def organization(self, info: GatewayInfo) -> IdentityOrg | None:
        return await organization_by_key(info, self.org_id)

    @classmethod
    async def resolve_reference(cls, info: GatewayInfo, id: strawberry.ID) -> User | None:
        user = served(info, await resolvers.identity.user(info.context.loaders, str(id)))
        return cls.entity(user) if user else None


def user_now_or_later(info: GatewayInfo, user_id: str) -> IdentityUser | Awaitable[IdentityUser | None] | None:
    """A user for a field, synchronously when the loader already holds it (a members page primed it).

    graphql-core turns every awaitable item of a list into a task; answering the primed users of a
    list of issues or projects at once saves a task and a coroutine per item. A user met again in
    the same response (the assignee of many issues) is found in the response's own memo first,
    without asking the loader again (the planned executor looks there before it calls the fields
    that name a user: they are declared ``from_memo("users", ...)``).
    """
    context = info._raw_info.context
    user: IdentityUser | None = context.users.get(user_id)
    if user is not None:
        return user
    found = resolvers.identity.user_future(context.loaders, user_id)
    if found.done() and not found.cancelled() and found.exception() is None:
        model = found.result()
        return None if model is None else _kept(info, model)
    return _user_later(info, found)


async def _user_later(info: GatewayInfo, found: Awaitable[IdentityUser | None]) -> IdentityUser | None:
    model = await found
    return None if model is None else _kept(info, model)


def _kept(info: GatewayInfo, user: IdentityUser) -> IdentityUser:
    """``user``, kept in the response's memo unless it was served stale (each place a stale value
    appears is marked on its own)."""
    return _all_kept(info, (user,))[0]


def _all_kept(info: GatewayInfo, users: Sequence[IdentityUser]) -> list[IdentityUser]:
    """Each of ``users`` as ``_kept`` keeps it, the request's memo and stale log looked up once
    for all of them (a members page keeps 50)."""
    context = info._raw_info.context
    memo = context.users
    cache = context.loaders.cache
    stale = None if cache is None else cache.stale
    kept: list[IdentityUser] = []
    for user in users:
        if stale is not None and stale.lookup(user) is not None:
            kept.append(served(info, user))
        else:
            memo[user.id] = user
            kept.append(user)
    return kept


@strawberry.type
class UserConnection:
    total_count: int
    page_info: PageInfo
    nodes: list[IdentityUser] = strawberry.field(graphql_type=list[User])


async def organization_by_key(info: GatewayInfo, org_id: str) -> IdentityOrg | None:
    """An organization resolved by its key: the reads its selection declares ``read_ahead`` go out
    beside its own."""
    loaders = info.context.loaders
    start_reads_ahead(loaders, org_id, info._raw_info, "Organization")
    return served(info, await resolvers.identity.organization(loaders, org_id))


def _members_ahead(loaders: Loaders, org_id: str, args: Mapping[str, Any], _: Selection) -> object:
    return resolvers.identity.members(loaders, org_id, args["first"], args.get("after"))


def _connection(page: MembersPage | None, users: list[IdentityUser]) -> UserConnection:
    if page is None:
        return UserConnection(total_count=0, page_info=PageInfo(has_next_page=False, end_cursor=None), nodes=[])
    return UserConnection(
        total_count=page.total_count,
        page_info=PageInfo(has_next_page=page.next_cursor is not None, end_cursor=page.next_cursor),
        nodes=users,
    )


def members_now(org: IdentityOrg, context: Any, args: Mapping[str, Any]) -> Any:
    """``Organization.members`` where the loader holds the page, fresh, and none of its users was
    served stale (the resolver marks those); else ``LATER``. Its users are kept in the response's
    memo, as the resolver keeps them. Arguments the resolver refuses answer ``LATER`` too: the
    resolver is async, so its error comes after its siblings have run (what a non-null error
    nulls, they report first)."""
    loaders = context.loaders
    try:
        found = resolvers.identity.members(loaders, org.id, args["first"], args.get("after"))
    except InvalidArgument:
        return LATER
    page: Any = fresh(loaders, found)
    if page is LATER:
        return LATER
    if page is None:
        return _connection(None, [])
    users: list[IdentityUser] = page.data
    cache = loaders.cache
    if cache is not None:
        stale = cache.stale
        for user in users:
            if stale.lookup(user) is not None:
                return LATER
    memo = context.users
    for user in users:
        memo[user.id] = user
    return _connection(page, users)


def billing_now(org: IdentityOrg, context: Any, _args: Mapping[str, Any]) -> Any:
    """``Organization.billing`` where the loader holds the customer, fresh; else ``LATER``."""
    loaders = context.loaders
    customer: Any = fresh(loaders, resolvers.billing.customer(loaders, org.id))
    return customer if customer is LATER or customer is None else _account(customer)


def _billing_ahead(loaders: Loaders, org_id: str, _args: Mapping[str, Any], _: Selection) -> object:
    return resolvers.billing.customer(loaders, org_id)


def _account(customer: BillingCustomer) -> BillingAccount:
    return billing_types.BillingAccount(customer_id=customer.id)


def _project_page(page: ProjectPage) -> ProjectPage:
    return project_types.project_page(page)


def _projects_ahead(loaders: Loaders, org_id: str, args: Mapping[str, Any], selection: Selection) -> object:
    issues = selection.pushed_down("nodes")
    return resolvers.projects.projects_of_org(loaders, org_id, args["first"], args.get("after"), issues)


@strawberry.federation.type(keys=["id"])
class Organization(*parts_of("Organization")):  # type: ignore[misc]  # its parts are Strawberry types declared by other modules
    id: strawberry.ID
    name: str
    slug: str | None

    @classmethod
    def entity(cls, org: IdentityOrg) -> Organization:
        """An instance of this class, for federation's ``_entities``."""
        return cls(id=strawberry.ID(org.id), name=org.name, slug=org.slug)

    @strawberry.field(
        metadata={**read_ahead(_members_ahead), **reads(MEMBERS, size="first"), **answered_now(members_now)}
    )
    async def members(self, info: GatewayInfo, first: int = 50, after: str | None = None) -> UserConnection:
        page = served(info, await resolvers.identity.members(info.context.loaders, self.id, first, after))
        return _connection(page, [] if page is None else _all_kept(info, page.data))

    @strawberry.field(
        metadata={**read_ahead(_billing_ahead, then=_account), **reads(CUSTOMERS), **answered_now(billing_now)}
    )
    async def billing(self, info: GatewayInfo) -> Annotated[BillingAccount, strawberry.lazy("schema.billing")] | None:
        customer = served(info, await resolvers.billing.customer(info.context.loaders, self.id))
        return _account(customer) if customer else None

    @strawberry.field(
        graphql_type=Annotated["ProjectConnection", strawberry.lazy("schema.projects")] | None,
        description="Nullable: a projects outage must not take the organization down with it.",
        metadata={**read_ahead(_projects_ahead, then=_project_page), **reads(PROJECT_PAGES, size="first")},
    )
    async def projects(self, info: GatewayInfo, first: int = 20, after: str | None = None) -> ProjectPage:
        issues = Selection.of(info._raw_info).pushed_down("nodes")
        found = await resolvers.projects.projects_page(info.context.loaders, self.id, first, after, issues)
        return project_types.project_page(served(info, found))

    @classmethod
    async def resolve_reference(cls, info: GatewayInfo, id: strawberry.ID) -> Organization | None:
        org = await organization_by_key(info, str(id))
        return cls.entity(org) if org else None
