"""support: a helpdesk API in the style of the big ticketing vendors (REST, HTTP Basic
``<agent email>/token:<API token>``, cursor pages, ``X-Rate-Limit-Remaining``/``Retry-After``).

An organization's tickets come in cursor pages (``page[size]``, ``page[after]``, ``meta.has_more``);
tickets are also read by ids (``show_many``, at most 100). A ticket's ``requester_id`` is an
identity user.
"""

from __future__ import annotations

from collections.abc import Awaitable, Sequence
from datetime import datetime
from typing import Literal

import msgspec
from pydantic import BaseModel, ConfigDict, field_validator

from clients.codec import ModelCodec
from clients.declaration import (
    EventFields,
    Prime,
    Read,
    Touched,
    Upstream,
    Vendor,
    Webhook,
    WebhookEvent,
    by_ids,
    fan_out,
)
from clients.errors import UpstreamStatusError
from clients.rest import RestClient
from clients.webhooks import Ident, Payload, Timestamp, Version, Word, read_body


class SupportTicket(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    subject: str
    status: str
    priority: str
    requester_id: str
    organization_id: str
    created_at: datetime

    @field_validator("id", mode="before")
    @classmethod
    def _id_as_text(cls, value: object) -> object:
        return str(value) if isinstance(value, int) else value


class TicketsMeta(BaseModel):
    model_config = ConfigDict(frozen=True)

    has_more: bool
    after_cursor: str | None = None


class TicketsPage(BaseModel):
    model_config = ConfigDict(frozen=True)

    tickets: list[SupportTicket]
    meta: TicketsMeta


class _Tickets(BaseModel):
    tickets: list[SupportTicket]


_PAGE = ModelCodec(TicketsPage)
_TICKETS = ModelCodec(_Tickets)


class SupportClient:
    def __init__(self, rest: RestClient) -> None:
        self.rest = rest
        self.name = rest.name

    async def tickets_page(self, org_id: str, *, size: int, after: str | None) -> TicketsPage | None:
        """A page of the organization's tickets, oldest first; ``None`` for an unknown organization."""
        params: dict[str, str | int] = {"page[size]": size}
        if after:
            params["page[after]"] = after
        try:
            return await self.rest.get(
                "/api/v2/organizations/{org_id}/tickets", _PAGE, path={"org_id": org_id}, params=params
            )
        except UpstreamStatusError as exc:
            if exc.status == 404:
                return None
            raise

    async def tickets_by_ids(self, ids: Sequence[str]) -> dict[str, SupportTicket]:
        found = await self.rest.get("/api/v2/tickets/show_many", _TICKETS, params={"ids": ",".join(ids)})
        return {ticket.id: ticket for ticket in found.tickets}


class TicketsKey(msgspec.Struct, frozen=True):
    org_id: str
    first: int
    after: str | None = None


def _tickets_page(client: SupportClient, key: TicketsKey) -> Awaitable[TicketsPage | None]:
    return client.tickets_page(key.org_id, size=key.first, after=key.after)


TICKETS: Read[SupportClient, str, SupportTicket] = Read(
    name="tickets",
    codec=ModelCodec(SupportTicket),
    fetch=by_ids(SupportClient.tickets_by_ids),
    batch="by_ids",
    ttl_s=60.0,
    entity="Ticket",
    tags=lambda _key, ticket: (f"org:{ticket.organization_id}",),
)
TICKET_PAGES: Read[SupportClient, TicketsKey, TicketsPage] = Read(
    name="ticket_pages",
    codec=ModelCodec(TicketsPage),
    fetch=fan_out(_tickets_page),
    batch="fan_out",
    pagination="cursor",
    ttl_s=30.0,
    key_parts=lambda key: (key.org_id, key.first, key.after),
    tags=lambda key, page: (f"org:{key.org_id}", *(f"Ticket:{ticket.id}" for ticket in page.tickets)),
    primes=(Prime(read=TICKETS, items=lambda page: ((ticket.id, ticket) for ticket in page.tickets)),),
)
"""A page of an organization's tickets (one request per organization: the API has no batch of pages)."""


class TicketChange(Payload):
    id: Ident
    organization_id: Ident
    status: Word
    priority: Word
    version: Version


class SupportWebhook(Payload):
    """``ticket.created`` or ``ticket.updated``, with the ticket as it now is."""

    type: Literal["ticket.created", "ticket.updated"]
    occurred_at: Timestamp
    ticket: TicketChange


def parse_webhook(body: bytes) -> list[WebhookEvent]:
    hook = read_body(SupportWebhook, body)
    ticket = hook.ticket
    return [
        WebhookEvent(
            type=hook.type,
            entity_type="Ticket",
            entity_id=ticket.id,
            version=ticket.version,
            occurred_at=hook.occurred_at,
            data={"org_id": ticket.organization_id, "status": ticket.status, "priority": ticket.priority},
        )
    ]


def webhook_touches(event: EventFields) -> Touched:
    """The ticket's entry and the lists embedding it, and its organization's ticket pages."""
    return Touched(entities=(f"Ticket:{event.entity_id}",), tags=(f"org:{event.data['org_id']}",))


SUPPORT: Upstream[SupportClient] = Upstream(name="support", reads=(TICKETS, TICKET_PAGES))
SUPPORT_API: Vendor[SupportClient] = Vendor(
    name="support",
    serves=SUPPORT,
    protocol="rest",
    auth=("basic",),
    client=lambda http: SupportClient(RestClient(http)),
    webhook=Webhook(scheme="github_hmac_sha256", parse=parse_webhook, touches=webhook_touches),
)
