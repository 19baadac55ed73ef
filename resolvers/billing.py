"""Reads of an organization's billing account, from whichever vendor serves the billing slot."""

from __future__ import annotations

import asyncio

from clients.billing import (
    CUSTOMERS,
    INVOICES,
    SUBSCRIPTIONS,
    BillingCustomer,
    BillingInvoice,
    BillingSubscription,
    InvoicesKey,
)
from resolvers.errors import check_page_size
from resolvers.loaders import Loaders


def customer(loaders: Loaders, org_id: str) -> asyncio.Future[BillingCustomer | None]:
    """The organization's billing customer (read ahead with the organization's own read)."""
    return loaders[CUSTOMERS].load(org_id)


async def subscription(loaders: Loaders, customer_id: str) -> BillingSubscription | None:
    return await loaders[SUBSCRIPTIONS].load(customer_id)


async def invoices(loaders: Loaders, customer_id: str, first: int, status: str | None) -> list[BillingInvoice]:
    check_page_size(first)
    found = await loaders[INVOICES].load(InvoicesKey(customer_id, first, status))
    return [] if found is None else found
