"""billing's normalised models (any vendor of the slot answers in these) and the invoices key.

They hold only scalars, so they are ``gc=False`` msgspec Structs (see ``clients.projects_values``)."""

from __future__ import annotations

from typing import Generic, TypeVar

import msgspec


class BillingCustomer(msgspec.Struct, frozen=True, gc=False):
    id: str
    org_id: str
    name: str


class BillingSubscription(msgspec.Struct, frozen=True, gc=False):
    id: str
    customer: str
    plan: str
    status: str
    seats: int
    current_period_end: int


class BillingInvoice(msgspec.Struct, frozen=True, gc=False):
    id: str
    number: str
    customer: str
    amount_due: int
    currency: str
    status: str
    due_date: int | None = None


T = TypeVar("T")


class Listed(msgspec.Struct, Generic[T], frozen=True):
    """A list answer of the Stripe-like vendor."""

    data: list[T]
    has_more: bool = False


class InvoicesKey(msgspec.Struct, frozen=True, gc=False, cache_hash=True):
    customer_id: str
    first: int
    status: str | None = None
