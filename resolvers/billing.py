"""Reads of an organization's billing account, from whichever vendor serves the billing slot."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

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


def subscription_future(loaders: Loaders, customer_id: str) -> asyncio.Future[BillingSubscription | None]:
    """The loader's future for a customer's subscription: already done when it was loaded earlier
    (read from the customer's answer) or found fresh in the cache."""
    return loaders[SUBSCRIPTIONS].load(customer_id)


def subscription_answered(loaders: Loaders, customer_id: str) -> Any:
    """The customer's subscription where the loader has it at hand (``None`` for none), without a
    future where none was made (found fresh in the cache); else ``UNANSWERED``."""
    return loaders[SUBSCRIPTIONS].answered(customer_id)


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


def invoices_future(
    loaders: Loaders, customer_id: str, first: int, status: str | None
) -> asyncio.Future[list[BillingInvoice] | None]:
    """The loader's future for a customer's invoice list as ``invoices`` asks for it: already done
    when it was loaded earlier (read from the customer's answer) or found fresh in the cache."""
    check_page_size(first)
    return loaders[INVOICES].load(InvoicesKey(customer_id, first, status))


async def invoices(loaders: Loaders, customer_id: str, first: int, status: str | None) -> list[BillingInvoice]:
    found = await invoices_future(loaders, customer_id, first, status)
    return [] if found is None else found
