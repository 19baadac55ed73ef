"""Support tickets, and ``Organization.tickets`` (a cross-upstream join: one support request per
page, the requesters in one identity batch)."""

from __future__ import annotations

from collections.abc import Awaitable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import strawberry

import resolvers.support
import schema.identity as identity_types
from clients.identity import USERS, IdentityUser
from clients.support import TICKET_PAGES, SupportTicket, TicketsPage
from resolvers.loaders import Loaders
from schema.cache import served
from schema.common import GatewayInfo, PageInfo
from schema.cost import reads
from schema.parts import part_of
from schema.plans import from_memo
from schema.selection import Selection, read_ahead

if TYPE_CHECKING:
    from schema.identity import User

UserRef = Annotated["User", strawberry.lazy("schema.identity")]


@strawberry.type(description="A support ticket of an organization, from the support upstream.")
class Ticket:
    """Its objects are the support upstream's values themselves (``SupportTicket``: the GraphQL
    fields are their attributes), not copies."""

    id: strawberry.ID
    subject: str
    status: str = strawberry.field(description="The helpdesk's status word, e.g. open, pending, solved.")
    priority: str
    created_at: datetime
    requester_id: strawberry.Private[str]

    @strawberry.field(graphql_type=UserRef | None, metadata={**reads(USERS), **from_memo("users", "requester_id")})
    def requester(self, info: GatewayInfo) -> IdentityUser | Awaitable[IdentityUser | None] | None:
        return identity_types.user_now_or_later(info, self.requester_id)


@strawberry.type
class TicketConnection:
    page_info: PageInfo
    nodes: list[SupportTicket] = strawberry.field(graphql_type=list[Ticket])

    @classmethod
    def from_page(cls, page: TicketsPage | None) -> TicketConnection:
        if page is None:
            return cls(page_info=PageInfo(has_next_page=False, end_cursor=None), nodes=[])
        meta = page.meta
        return cls(
            page_info=PageInfo(has_next_page=meta.has_more, end_cursor=meta.after_cursor),
            nodes=page.tickets,
        )


def _tickets_ahead(loaders: Loaders, org_id: str, args: Mapping[str, Any], _: Selection) -> object:
    return resolvers.support.tickets(loaders, org_id, args["first"], args.get("after"))


@part_of("Organization")
@strawberry.type
class OrganizationTickets:
    id: strawberry.ID

    @strawberry.field(
        description="The organization's support tickets, oldest first. Nullable: a support outage must not "
        "take the organization down with it.",
        metadata={**read_ahead(_tickets_ahead), **reads(TICKET_PAGES, size="first")},
    )
    async def tickets(self, info: GatewayInfo, first: int = 10, after: str | None = None) -> TicketConnection | None:
        page = await resolvers.support.tickets(info.context.loaders, str(self.id), first, after)
        return TicketConnection.from_page(served(info, page))
