"""billing: an organization's customer, subscription and invoices, a slot any billing vendor can serve.

The slot's reads return the gateway's normalised models (``BillingCustomer``, ``BillingSubscription``,
``BillingInvoice``) from any client that implements ``BillingApi``; ``upstreams.billing.vendor``
picks the vendor. The vendor declared here, ``billing``, is a Stripe-like REST API (API key plus
HMAC-signed requests) whose payloads are those models. It has no batch read: every list is per
customer, so reads fan out (bounded). ``clients.billing_values`` holds the models and the invoices
key, ``clients.billing_client`` the vendor's client (both importable from here too).
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Literal, Protocol

from clients.billing_client import BillingClient
from clients.billing_values import BillingCustomer, BillingInvoice, BillingSubscription, InvoicesKey
from clients.codec import StructCodec
from clients.declaration import EventFields, Read, Touched, Upstream, Vendor, Webhook, WebhookEvent, fan_out
from clients.rest import RestClient
from clients.webhooks import Ident, Payload, Timestamp, Version, Word, read_body

__all__ = [
    "BILLING",
    "CUSTOMERS",
    "INVOICES",
    "STRIPE_LIKE",
    "SUBSCRIPTIONS",
    "BillingApi",
    "BillingClient",
    "BillingCustomer",
    "BillingInvoice",
    "BillingSubscription",
    "BillingWebhook",
    "InvoiceChange",
    "InvoicesKey",
    "parse_webhook",
    "webhook_touches",
]


class BillingApi(Protocol):
    """What the schema needs of a billing vendor, in the normalised models (the reads below call
    these on the configured vendor's client)."""

    async def customer_for_org(self, org_id: str) -> BillingCustomer | None: ...

    async def subscription_for_customer(self, customer_id: str) -> BillingSubscription | None: ...

    async def invoices(self, customer_id: str, *, limit: int, status: str | None) -> list[BillingInvoice]: ...

    async def pay_invoice(self, invoice_id: str, *, idempotency_key: str) -> BillingInvoice: ...


def _customer(client: BillingApi, org_id: str) -> Awaitable[BillingCustomer | None]:
    return client.customer_for_org(org_id)


def _subscription(client: BillingApi, customer_id: str) -> Awaitable[BillingSubscription | None]:
    return client.subscription_for_customer(customer_id)


def _invoices(client: BillingApi, key: InvoicesKey) -> Awaitable[list[BillingInvoice]]:
    return client.invoices(key.customer_id, limit=key.first, status=key.status)


CUSTOMERS: Read[BillingApi, str, BillingCustomer] = Read(
    name="customers",
    codec=StructCodec(BillingCustomer),
    fetch=fan_out(_customer),
    batch="fan_out",
    ttl_s=300.0,
    tags=lambda org_id, customer: (f"org:{org_id}", f"customer:{customer.id}"),
    links=lambda org_id, customer: ((f"org:{org_id}", f"customer:{customer.id}"),),
)
"""An organization's billing customer, by the organization's id."""
SUBSCRIPTIONS: Read[BillingApi, str, BillingSubscription] = Read(
    name="subscriptions",
    codec=StructCodec(BillingSubscription),
    fetch=fan_out(_subscription),
    batch="fan_out",
    ttl_s=60.0,
    tags=lambda customer_id, _subscription: (f"customer:{customer_id}",),
)
INVOICES: Read[BillingApi, InvoicesKey, list[BillingInvoice]] = Read(
    name="invoices",
    codec=StructCodec(list[BillingInvoice]),
    fetch=fan_out(_invoices),
    batch="fan_out",
    pagination="cursor",
    ttl_s=30.0,
    key_parts=lambda key: (key.customer_id, key.first, key.status),
    tags=lambda key, _invoices: (f"customer:{key.customer_id}",),
)


class InvoiceChange(Payload):
    id: Ident
    customer: Ident
    org_id: Ident
    status: Word
    version: Version


class BillingWebhook(Payload):
    """``invoice.paid``, ``invoice.payment_failed``, ``customer.subscription.updated``: the object
    changed, with its customer, organization and version."""

    type: Literal["invoice.paid", "invoice.payment_failed", "customer.subscription.updated"]
    occurred_at: Timestamp
    data: InvoiceChange


def parse_webhook(body: bytes) -> list[WebhookEvent]:
    hook = read_body(BillingWebhook, body)
    entity_type = "Subscription" if hook.type.startswith("customer.subscription") else "Invoice"
    change = hook.data
    return [
        WebhookEvent(
            type=hook.type,
            entity_type=entity_type,
            entity_id=change.id,
            version=change.version,
            occurred_at=hook.occurred_at,
            data={"customer_id": change.customer, "org_id": change.org_id, "status": change.status},
        )
    ]


def webhook_touches(event: EventFields) -> Touched:
    """An invoice or subscription is cached in its customer's lists."""
    return Touched(tags=(f"customer:{event.data['customer_id']}",))


BILLING: Upstream[BillingApi] = Upstream(name="billing", reads=(CUSTOMERS, SUBSCRIPTIONS, INVOICES))
STRIPE_LIKE: Vendor[BillingApi] = Vendor(
    name="billing",
    serves=BILLING,
    protocol="rest",
    auth=("api_key_hmac",),
    client=lambda http: BillingClient(RestClient(http)),
    defaults={"max_fanout": 10},
    webhook=Webhook(scheme="standard_webhooks", parse=parse_webhook, touches=webhook_touches),
)
