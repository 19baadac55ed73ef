"""ledger: a second billing vendor (subscription-billing style) that serves the ``billing`` slot.

REST, HTTP Basic with the API key as the user name. Lists take ``limit``/``offset`` and filters
written ``field[operator]=value``; amounts are minor units with an upper-case ``currency_code``;
it has status words of its own. ``LedgerClient`` implements ``BillingApi``: it maps every answer
into the normalised billing models (``upstreams.billing.vendor: ledger``).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from clients.billing import BILLING, BillingApi, BillingCustomer, BillingInvoice, BillingSubscription
from clients.codec import ModelCodec
from clients.declaration import Vendor
from clients.rest import RestClient


class LedgerCustomer(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    org_id: str
    company: str


class LedgerSubscription(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    customer_id: str
    plan_id: str
    plan_quantity: int
    status: str
    current_term_end: int
    due_since: int | None = None


class LedgerInvoice(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    invoice_number: str
    customer_id: str
    status: str
    due_date: int | None = None
    total: int
    currency_code: str


class _Customer(BaseModel):
    customer: LedgerCustomer


class _Subscription(BaseModel):
    subscription: LedgerSubscription


class _Invoice(BaseModel):
    invoice: LedgerInvoice


class _Customers(BaseModel):
    list: list[_Customer]


class _Subscriptions(BaseModel):
    list: list[_Subscription]


class _Invoices(BaseModel):
    list: list[_Invoice]


_CUSTOMERS = ModelCodec(_Customers)
_SUBSCRIPTIONS = ModelCodec(_Subscriptions)
_INVOICES = ModelCodec(_Invoices)
_PAID = ModelCodec(_Invoice)

_SUBSCRIPTION_STATUS = {"in_trial": "trialing", "cancelled": "canceled", "non_renewing": "active", "future": "trialing"}
_INVOICE_STATUS = {
    "posted": "open",
    "payment_due": "open",
    "not_paid": "uncollectible",
    "voided": "void",
    "pending": "draft",
}
_INVOICE_FILTER = {
    "open": ("posted", "payment_due"),
    "uncollectible": ("not_paid",),
    "void": ("voided",),
    "draft": ("pending",),
    "paid": ("paid",),
}
"""A normalised invoice status -> the ledger's words for it."""


def subscription_status(subscription: LedgerSubscription) -> str:
    """The ledger tracks dues beside the status: an active subscription with dues is past due."""
    if subscription.status == "active" and subscription.due_since is not None:
        return "past_due"
    return _SUBSCRIPTION_STATUS.get(subscription.status, subscription.status)


def normalised_invoice(invoice: LedgerInvoice) -> BillingInvoice:
    return BillingInvoice(
        id=invoice.id,
        number=invoice.invoice_number,
        customer=invoice.customer_id,
        amount_due=invoice.total,
        currency=invoice.currency_code.lower(),
        status=_INVOICE_STATUS.get(invoice.status, invoice.status),
        due_date=invoice.due_date,
    )


class LedgerClient:
    """The ``ledger`` vendor of the billing slot."""

    def __init__(self, rest: RestClient) -> None:
        self.rest = rest
        self.name = rest.name

    async def customer_for_org(self, org_id: str) -> BillingCustomer | None:
        found = await self.rest.get("/api/v2/customers", _CUSTOMERS, params={"org_id[is]": org_id, "limit": 1})
        if not found.list:
            return None
        customer = found.list[0].customer
        return BillingCustomer(id=customer.id, org_id=customer.org_id, name=customer.company)

    async def subscription_for_customer(self, customer_id: str) -> BillingSubscription | None:
        params: dict[str, str | int] = {"customer_id[is]": customer_id, "limit": 1}
        found = await self.rest.get("/api/v2/subscriptions", _SUBSCRIPTIONS, params=params)
        if not found.list:
            return None
        subscription = found.list[0].subscription
        return BillingSubscription(
            id=subscription.id,
            customer=subscription.customer_id,
            plan=subscription.plan_id,
            status=subscription_status(subscription),
            seats=subscription.plan_quantity,
            current_period_end=subscription.current_term_end,
        )

    async def invoices(self, customer_id: str, *, limit: int, status: str | None) -> list[BillingInvoice]:
        params: dict[str, str | int] = {"customer_id[is]": customer_id, "limit": limit}
        if status:
            words = _INVOICE_FILTER.get(status)
            if words is None:
                return []
            params["status[in]"] = "[" + ",".join(f'"{word}"' for word in words) + "]"
        found = await self.rest.get("/api/v2/invoices", _INVOICES, params=params)
        return [normalised_invoice(item.invoice) for item in found.list]

    async def pay_invoice(self, invoice_id: str, *, idempotency_key: str) -> BillingInvoice:
        paid = await self.rest.call(
            "POST",
            "/api/v2/invoices/{invoice_id}/collect_payment",
            _PAID,
            path={"invoice_id": invoice_id},
            headers={"Ledger-Idempotency-Key": idempotency_key},
        )
        return normalised_invoice(paid.invoice)


LEDGER: Vendor[BillingApi] = Vendor(
    name="ledger",
    serves=BILLING,
    protocol="rest",
    auth=("basic",),
    client=lambda http: LedgerClient(RestClient(http)),
    defaults={"max_fanout": 10},
)
