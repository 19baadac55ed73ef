"""The Stripe-like ``billing`` vendor's client: its REST endpoints, each a request built and an
answer decoded into the slot's models (``clients.billing_values``).

Compiled: a method is a coroutine layer of every call it makes, resumed at each of the call's waits.
"""

from __future__ import annotations

from clients.billing_values import BillingCustomer, BillingInvoice, BillingSubscription, Listed
from clients.codec import StructCodec
from clients.rest import RestClient

_CUSTOMERS = StructCodec(Listed[BillingCustomer])
_SUBSCRIPTIONS = StructCodec(Listed[BillingSubscription])
_INVOICES = StructCodec(Listed[BillingInvoice])
_INVOICE = StructCodec(BillingInvoice)


class BillingClient:
    """The Stripe-like ``billing`` vendor."""

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
            "POST",
            "/v1/invoices/{invoice_id}/pay",
            _INVOICE,
            path={"invoice_id": invoice_id},
            headers={"Idempotency-Key": idempotency_key},
        )
