"""The root Subscription: events of an organization's invoices and tickets and of a project's
issues, as the gateway's event path publishes them (``schema.feed``).

Authorization is checked when a client subscribes (``schema.authorization`` guards ``subscribe``
as well as ``resolve``): a refused subscription never reaches the feed. Each event's entity is
resolved through the request's loaders, forgotten before the next event so no event shows an
older one's data."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import UTC, datetime

import strawberry

import resolvers.billing
from clients.identity import IdentityOrg
from clients.projects import ProjectNode
from resolvers.errors import InvalidArgument, SubscriptionsDisabled
from schema.billing import Invoice
from schema.common import GatewayInfo
from schema.feed import EventMessage, invoice_topic, issue_topic, ticket_topic
from schema.identity import Organization, organization_by_key
from schema.projects import Project, project_by_key

MAX_ID_CHARS = 200
INVOICES_SCANNED = 100


def _text(message: EventMessage, key: str) -> str:
    value = message.get(key)
    return value if isinstance(value, str) else ""


def _data_text(message: EventMessage, key: str) -> str | None:
    data = message.get("data")
    value = data.get(key) if isinstance(data, dict) else None
    return value if isinstance(value, str) else None


def _version(message: EventMessage) -> int:
    value = message.get("version")
    return value if isinstance(value, int) else 0


def _occurred_at(message: EventMessage) -> datetime:
    value = message.get("occurred_at")
    return datetime.fromtimestamp(value if isinstance(value, int | float) else 0, UTC)


@strawberry.interface(description="A change at an upstream, as the gateway received it.")
class ChangeEvent:
    id: strawberry.ID = strawberry.field(description="Unique per source (the webhook or broker message id).")
    type: str = strawberry.field(description="The upstream's event name, e.g. `invoice.paid`.")
    version: int = strawberry.field(description="Orders the events of one entity; newer is larger.")
    occurred_at: datetime


def _common(message: EventMessage) -> dict[str, object]:
    return {
        "id": strawberry.ID(_text(message, "id")),
        "type": _text(message, "type"),
        "version": _version(message),
        "occurred_at": _occurred_at(message),
    }


@strawberry.type(description="An invoice of an organization changed (paid, payment failed ...).")
class InvoiceEvent(ChangeEvent):
    invoice_id: strawberry.ID
    org_id: strawberry.ID
    status: str | None = strawberry.field(description="The invoice's status the event reports, if it says.")

    @classmethod
    def of(cls, message: EventMessage, org_id: str) -> InvoiceEvent:
        status = _data_text(message, "status")
        return cls(
            **_common(message),  # type: ignore[arg-type]  # the shared fields, typed in _common
            invoice_id=strawberry.ID(_text(message, "entity_id")),
            org_id=strawberry.ID(org_id),
            status=status.upper() if status else None,
        )

    @strawberry.field(description="The invoice as billing shows it now (read through the usual loaders).")
    async def invoice(self, info: GatewayInfo) -> Invoice | None:
        loaders = info.context.loaders
        customer = await resolvers.billing.customer(loaders, str(self.org_id))
        if customer is None:
            return None
        found = await resolvers.billing.invoices(loaders, customer.id, INVOICES_SCANNED, None)
        return next((Invoice.from_model(invoice) for invoice in found if invoice.id == self.invoice_id), None)

    @strawberry.field(graphql_type=Organization | None)
    async def organization(self, info: GatewayInfo) -> IdentityOrg | None:
        return await organization_by_key(info, str(self.org_id))


@strawberry.type(description="An issue of a project changed (opened, closed, assigned ...).")
class IssueEvent(ChangeEvent):
    issue_id: strawberry.ID
    project_id: strawberry.ID
    state: str | None = strawberry.field(description="The issue's state the event reports, if it says.")

    @classmethod
    def of(cls, message: EventMessage, project_id: str) -> IssueEvent:
        state = _data_text(message, "state")
        return cls(
            **_common(message),  # type: ignore[arg-type]  # the shared fields, typed in _common
            issue_id=strawberry.ID(_text(message, "entity_id")),
            project_id=strawberry.ID(project_id),
            state=state.upper() if state else None,
        )

    @strawberry.field(graphql_type=Project | None)
    async def project(self, info: GatewayInfo) -> ProjectNode | None:
        return await project_by_key(info, str(self.project_id))


@strawberry.type(description="A support ticket of an organization changed.")
class TicketEvent(ChangeEvent):
    ticket_id: strawberry.ID
    org_id: strawberry.ID
    status: str | None = strawberry.field(description="The ticket's status the event reports, if it says.")

    @classmethod
    def of(cls, message: EventMessage, org_id: str) -> TicketEvent:
        return cls(
            **_common(message),  # type: ignore[arg-type]  # the shared fields, typed in _common
            ticket_id=strawberry.ID(_text(message, "entity_id")),
            org_id=strawberry.ID(org_id),
            status=_data_text(message, "status"),
        )

    @strawberry.field(graphql_type=Organization | None)
    async def organization(self, info: GatewayInfo) -> IdentityOrg | None:
        return await organization_by_key(info, str(self.org_id))


async def _events(info: GatewayInfo, topic: str) -> AsyncGenerator[EventMessage, None]:
    context = info.context
    if context.events is None:
        raise SubscriptionsDisabled("subscriptions are not enabled on this gateway")
    stream = context.events.subscribe(topic, on_overflow=context.on_overflow)
    try:
        async for message in stream:
            context.loaders.release()  # each event is resolved against the upstreams as they are now
            yield message
    finally:
        stream.close()


def _key(value: strawberry.ID) -> str:
    key = str(value)
    if not 0 < len(key) <= MAX_ID_CHARS:
        raise InvalidArgument(f"an id has 1 to {MAX_ID_CHARS} characters")
    return key


@strawberry.type
class Subscription:
    @strawberry.federation.field(
        is_subscription=True,
        authenticated=True,
        requires_scopes=[["billing:read"]],
        description="Events of the organization's invoices from now on.",
    )
    async def invoice_events(self, info: GatewayInfo, org_id: strawberry.ID) -> AsyncGenerator[InvoiceEvent, None]:
        key = _key(org_id)
        async for message in _events(info, invoice_topic(key)):
            yield InvoiceEvent.of(message, key)

    @strawberry.federation.field(
        is_subscription=True,
        authenticated=True,
        requires_scopes=[["issues:read"]],
        description="Events of the project's issues from now on.",
    )
    async def issue_events(self, info: GatewayInfo, project_id: strawberry.ID) -> AsyncGenerator[IssueEvent, None]:
        key = _key(project_id)
        async for message in _events(info, issue_topic(key)):
            yield IssueEvent.of(message, key)

    @strawberry.federation.field(
        is_subscription=True,
        authenticated=True,
        requires_scopes=[["tickets:read"]],
        description="Events of the organization's support tickets from now on.",
    )
    async def ticket_events(self, info: GatewayInfo, org_id: strawberry.ID) -> AsyncGenerator[TicketEvent, None]:
        key = _key(org_id)
        async for message in _events(info, ticket_topic(key)):
            yield TicketEvent.of(message, key)
