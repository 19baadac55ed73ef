"""billing: customers, subscriptions, invoices (REST, API key + HMAC-signed requests).

There is no batch read: every list is per customer, so callers fan out (bounded).
"""

from __future__ import annotations

from typing import Generic, TypeVar

from pydantic import BaseModel, ConfigDict, TypeAdapter

from clients.rest import RestClient


class BillingCustomer(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    org_id: str
    name: str


class BillingSubscription(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    customer: str
    plan: str
    status: str
    seats: int
    current_period_end: int


class BillingInvoice(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    number: str
    customer: str
    amount_due: int
    currency: str
    status: str
    due_date: int | None = None


T = TypeVar("T")


class _List(BaseModel, Generic[T]):
    data: list[T]
    has_more: bool = False


_CUSTOMERS = TypeAdapter(_List[BillingCustomer])
_SUBSCRIPTIONS = TypeAdapter(_List[BillingSubscription])
_INVOICES = TypeAdapter(_List[BillingInvoice])
_INVOICE = TypeAdapter(BillingInvoice)


class BillingClient:
    def __init__(self, rest: RestClient) -> None:
        self.rest = rest
        self.name = rest.name

    async def customer_for_org(self, org_id: str) -> BillingCustomer | None:
        page = await self.rest.get("/v1/customers", _CUSTOMERS, params={"org_id": org_id})
        return page.data[0] if page.data else None

    async def subscription_for_customer(self, customer_id: str) -> BillingSubscription | None:
        page = await self.rest.get("/v1/subscriptions", _SUBSCRIPTIONS, params={"customer": customer_id})
        return page.data[0] if page.data else None

    async def invoices(self, customer_id: str, *, limit: int, status: str | None) -> list[BillingInvoice]:
        params: dict[str, str | int] = {"customer": customer_id, "limit": limit}
        if status:
            params["status"] = status
        page = await self.rest.get("/v1/invoices", _INVOICES, params=params)
        return page.data

    async def pay_invoice(self, invoice_id: str, *, idempotency_key: str) -> BillingInvoice:
        return await self.rest.call(
            "POST", f"/v1/invoices/{invoice_id}/pay", _INVOICE, headers={"Idempotency-Key": idempotency_key}
        )
