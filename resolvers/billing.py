"""Reads of an organization's billing account."""

from __future__ import annotations

from clients.billing import BillingCustomer, BillingInvoice, BillingSubscription
from resolvers.errors import check_page_size
from resolvers.loaders import Loaders
from resolvers.loaders.billing import InvoicesKey


async def customer(loaders: Loaders, org_id: str) -> BillingCustomer | None:
    return await loaders.customers.load(org_id)


async def subscription(loaders: Loaders, customer_id: str) -> BillingSubscription | None:
    return await loaders.subscriptions.load(customer_id)


async def invoices(loaders: Loaders, customer_id: str, first: int, status: str | None) -> list[BillingInvoice]:
    check_page_size(first)
    return await loaders.invoices.load(InvoicesKey(customer_id, first, status))
