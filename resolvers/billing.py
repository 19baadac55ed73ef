"""Reads of an organization's billing account, from whichever vendor serves the billing slot."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

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


def subscriptions_ahead(
    loaders: Loaders, customer_ids: Iterable[str]
) -> list[asyncio.Future[BillingSubscription | None]]:
    """The customers' subscriptions, loaded ahead of the fields that read them."""
    loader = loaders[SUBSCRIPTIONS]
    return [loader.load(customer_id) for customer_id in customer_ids]


def invoices_ahead(
    loaders: Loaders, customer_ids: Iterable[str], first: int, status: str | None
) -> list[asyncio.Future[list[BillingInvoice] | None]]:
    """The customers' invoice lists as ``invoices`` asks for them, loaded ahead of it."""
    check_page_size(first)
    loader = loaders[INVOICES]
    return [loader.load(InvoicesKey(customer_id, first, status)) for customer_id in customer_ids]


async def invoices(loaders: Loaders, customer_id: str, first: int, status: str | None) -> list[BillingInvoice]:
    check_page_size(first)
    found = await loaders[INVOICES].load(InvoicesKey(customer_id, first, status))
    return [] if found is None else found
