"""An organization's billing account and invoices."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import strawberry

import resolvers.billing
from clients.billing import INVOICES, SUBSCRIPTIONS, BillingInvoice, BillingSubscription
from resolvers.errors import InvalidArgument
from resolvers.loaders import Loaders
from schema.cache import served
from schema.common import GatewayInfo
from schema.cost import reads
from schema.fallbacks import with_fallback
from schema.plans import LATER, answered_now
from schema.ready import (
    fresh,
    period_end_now,
    period_end_of,
    plan_now,
    plan_of,
    seats_now,
    seats_of,
    status_now,
    status_of,
)
from schema.selection import Selection, read_from

_ZERO_DECIMAL_CURRENCIES = frozenset({"jpy", "krw", "vnd", "clp"})


@strawberry.type(description="An amount of money in a currency; `amount` is in major units.")
class Money:
    amount: Decimal
    minor_units: int
    currency: str

    @classmethod
    def of(cls, minor_units: int, currency: str) -> Money:
        exponent = 0 if currency.lower() in _ZERO_DECIMAL_CURRENCIES else 2
        return cls(amount=Decimal(minor_units).scaleb(-exponent), minor_units=minor_units, currency=currency.upper())


@strawberry.type
class Invoice:
    id: strawberry.ID
    number: str
    amount_due: Money
    status: str
    due_date: date | None

    @classmethod
    def from_model(cls, invoice: BillingInvoice) -> Invoice:
        return cls(
            id=strawberry.ID(invoice.id),
            number=invoice.number,
            amount_due=Money.of(invoice.amount_due, invoice.currency),
            status=invoice.status.upper(),
            due_date=datetime.fromtimestamp(invoice.due_date, UTC).date() if invoice.due_date else None,
        )


def _subscriptions_from(
    loaders: Loaders, accounts: Sequence[BillingAccount], _args: Mapping[str, Any], _: Selection
) -> Sequence[asyncio.Future[Any]]:
    return resolvers.billing.subscriptions_ahead(loaders, [account.customer_id for account in accounts])


def _upstream_status(status: str | None) -> str | None:
    """The upstream's value of ``invoices``' ``status`` argument (lower case), or None."""
    return status.lower() if status else None


def _invoices_of(found: Sequence[BillingInvoice] | None) -> list[Invoice]:
    """``BillingAccount.invoices`` of the loader's invoice list (its resolver and ``invoices_now`` answer this)."""
    return [] if found is None else [Invoice.from_model(invoice) for invoice in found]


def _invoices_from(
    loaders: Loaders, accounts: Sequence[BillingAccount], args: Mapping[str, Any], _: Selection
) -> Sequence[asyncio.Future[Any]]:
    customer_ids = [account.customer_id for account in accounts]
    return resolvers.billing.invoices_ahead(loaders, customer_ids, args["first"], _upstream_status(args.get("status")))


def invoices_now(account: BillingAccount, context: Any, args: Mapping[str, Any]) -> Any:
    """``BillingAccount.invoices`` where the loader holds the list, fresh; else ``LATER`` (for
    arguments the resolver refuses too: it is async, its error comes after its siblings have run)."""
    loaders = context.loaders
    wanted = _upstream_status(args.get("status"))
    try:
        future = resolvers.billing.invoices_future(loaders, account.customer_id, args["first"], wanted)
    except InvalidArgument:
        return LATER
    found = fresh(loaders, future)
    return LATER if found is LATER else _invoices_of(found)


SUBSCRIPTION = {**reads(SUBSCRIPTIONS), **read_from(_subscriptions_from)}
"""The metadata of a field read from the account's subscription: started from the customer's
answer, answered without its resolver where the subscription is ready (``answered_now``)."""


@strawberry.type(description="Plan and invoices of an organization, from the billing upstream.")
class BillingAccount:
    customer_id: strawberry.Private[str]

    async def _subscription(self, info: GatewayInfo) -> BillingSubscription | None:
        return served(info, await resolvers.billing.subscription(info.context.loaders, self.customer_id))

    @strawberry.field(metadata={**SUBSCRIPTION, **answered_now(plan_now)})
    async def plan(self, info: GatewayInfo) -> str | None:
        return plan_of(await self._subscription(info))

    @strawberry.field(metadata={**SUBSCRIPTION, **answered_now(status_now)})
    async def status(self, info: GatewayInfo) -> str | None:
        return status_of(await self._subscription(info))

    @strawberry.field(metadata={**SUBSCRIPTION, **answered_now(seats_now)})
    async def seats(self, info: GatewayInfo) -> int | None:
        return seats_of(await self._subscription(info))

    @strawberry.field(metadata={**SUBSCRIPTION, **answered_now(period_end_now)})
    async def current_period_end(self, info: GatewayInfo) -> datetime | None:
        return period_end_of(await self._subscription(info))

    @strawberry.field(
        metadata={**reads(INVOICES, size="first"), **read_from(_invoices_from), **answered_now(invoices_now)}
    )
    async def invoices(self, info: GatewayInfo, first: int = 10, status: str | None = None) -> list[Invoice]:
        found = served(
            info,
            await with_fallback(
                info,
                "BillingAccount.invoices",
                resolvers.billing.invoices(info.context.loaders, self.customer_id, first, _upstream_status(status)),
            ),
        )
        return _invoices_of(found)
