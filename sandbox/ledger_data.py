"""The ledger upstream's records: the seeded billing accounts in a subscription-billing vendor's shape.

Derived from the billing seed, so a fresh sandbox answers every account the same through both
vendors: the same organizations, plans, seats, term ends, invoice ids, numbers, amounts and due
dates. What differs is the vendor's own vocabulary:

- customers and subscriptions have ids of their own (`AC-00001`, `SB-00001`);
- subscription status: `trialing` is `in_trial`, `canceled` is `cancelled`, and `past_due` is
  `active` with `due_since` set (the vendor tracks dues beside the status);
- invoice status: `draft` is `pending`, `open` is `posted` (not yet due at the seed's "now") or
  `payment_due`, `uncollectible` is `not_paid`, `void` is `voided`;
- amounts are minor units with an upper-case `currency_code`; `total` is what billing calls
  `amount_due`, while `amount_due` here is what is still owed (0 once paid or voided).
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Mapping
from dataclasses import dataclass, field

from sandbox.models import JSON, BillingData, Invoice, Subscription, numeric_id
from sandbox.seed import DAY, SEED_NOW, fresh_billing

SUBSCRIPTION_STATUSES = ("future", "in_trial", "active", "non_renewing", "paused", "cancelled")
INVOICE_STATUSES = ("paid", "posted", "payment_due", "not_paid", "voided", "pending")
COLLECTABLE = frozenset({"posted", "payment_due", "not_paid"})
_SUBSCRIPTION_WORDS = {"active": "active", "trialing": "in_trial", "past_due": "active", "canceled": "cancelled"}
_INVOICE_WORDS = {"paid": "paid", "uncollectible": "not_paid", "void": "voided", "draft": "pending"}


@dataclass(slots=True)
class LedgerCustomer:
    id: str
    org_id: str
    company: str
    email: str
    preferred_currency_code: str | None
    created_at: int

    def to_json(self) -> JSON:
        return {
            "id": self.id,
            "object": "customer",
            "org_id": self.org_id,
            "company": self.company,
            "email": self.email,
            "auto_collection": "on",
            "net_term_days": 30,
            "preferred_currency_code": self.preferred_currency_code,
            "created_at": self.created_at,
        }


@dataclass(slots=True)
class LedgerSubscription:
    id: str
    customer_id: str
    plan_id: str
    plan_quantity: int
    status: str
    current_term_end: int
    due_since: int | None

    def to_json(self) -> JSON:
        return {
            "id": self.id,
            "object": "subscription",
            "customer_id": self.customer_id,
            "plan_id": self.plan_id,
            "plan_quantity": self.plan_quantity,
            "status": self.status,
            "current_term_end": self.current_term_end,
            "due_since": self.due_since,
        }


@dataclass(slots=True)
class LedgerInvoice:
    id: str
    invoice_number: str
    customer_id: str
    subscription_id: str | None
    status: str
    date: int
    due_date: int | None
    total: int
    amount_paid: int
    currency_code: str
    paid_at: int | None

    @property
    def amount_due(self) -> int:
        return self.total - self.amount_paid if self.status in COLLECTABLE else 0

    def to_json(self) -> JSON:
        return {
            "id": self.id,
            "object": "invoice",
            "invoice_number": self.invoice_number,
            "customer_id": self.customer_id,
            "subscription_id": self.subscription_id,
            "status": self.status,
            "date": self.date,
            "due_date": self.due_date,
            "total": self.total,
            "amount_paid": self.amount_paid,
            "amount_due": self.amount_due,
            "currency_code": self.currency_code,
            "paid_at": self.paid_at,
        }


@dataclass(slots=True)
class LedgerData:
    customers: dict[str, LedgerCustomer]
    subscriptions: dict[str, LedgerSubscription]
    invoices: dict[str, LedgerInvoice]
    """In the billing seed's order: per customer, newest first."""
    by_org: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Customer ids per organization. Nothing adds or moves records, so copies share the indexes."""
    by_customer: Mapping[str, tuple[tuple[str, ...], tuple[str, ...]]] = field(default_factory=dict)
    """(subscription ids, invoice ids newest first) per customer."""

    def customers_of(self, org_id: str) -> list[LedgerCustomer]:
        return [self.customers[i] for i in self.by_org.get(org_id, ())]

    def subscriptions_of(self, customer_id: str) -> list[LedgerSubscription]:
        return [self.subscriptions[i] for i in self.by_customer.get(customer_id, ((), ()))[0]]

    def invoices_of(self, customer_id: str) -> list[LedgerInvoice]:
        return [self.invoices[i] for i in self.by_customer.get(customer_id, ((), ()))[1]]


@functools.cache
def _pristine() -> LedgerData:
    return ledger_from_billing(fresh_billing())


def fresh_ledger() -> LedgerData:
    """A private copy of the ledger's seed whose records the caller may change (a copy per reset:
    every record's fields are immutable values, so a shallow copy of each is a deep copy)."""
    seed = _pristine()
    return LedgerData(
        customers={i: copy.copy(c) for i, c in seed.customers.items()},
        subscriptions={i: copy.copy(s) for i, s in seed.subscriptions.items()},
        invoices={i: copy.copy(v) for i, v in seed.invoices.items()},
        by_org=seed.by_org,
        by_customer=seed.by_customer,
    )


def ledger_from_billing(billing: BillingData) -> LedgerData:
    """The billing seed as this vendor keeps it (see the module docstring for the translation)."""
    data = LedgerData(customers={}, subscriptions={}, invoices={})
    customer_ids = {customer_id: f"AC-{numeric_id(customer_id):05d}" for customer_id in billing.customers}
    subscription_ids = {s.customer: f"SB-{numeric_id(s.id):05d}" for s in billing.subscriptions.values()}
    for customer in billing.customers.values():
        invoices = _invoices_of(billing, customer.id)
        data.customers[customer_ids[customer.id]] = LedgerCustomer(
            id=customer_ids[customer.id],
            org_id=customer.org_id,
            company=customer.name,
            email=customer.email,
            preferred_currency_code=invoices[0].currency.upper() if invoices else None,
            created_at=customer.created,
        )
    for subscription in billing.subscriptions.values():
        ledger_id = subscription_ids[subscription.customer]
        data.subscriptions[ledger_id] = LedgerSubscription(
            id=ledger_id,
            customer_id=customer_ids[subscription.customer],
            plan_id=subscription.plan,
            plan_quantity=subscription.seats,
            status=_SUBSCRIPTION_WORDS[subscription.status],
            current_term_end=subscription.current_period_end,
            due_since=_due_since(subscription, _invoices_of(billing, subscription.customer)),
        )
    for customer_id in billing.customers:
        for invoice in _invoices_of(billing, customer_id):
            data.invoices[invoice.id] = _ledger_invoice(
                invoice, customer_ids[customer_id], subscription_ids.get(customer_id)
            )
    return _indexed(data)


def _indexed(data: LedgerData) -> LedgerData:
    by_org: dict[str, list[str]] = {}
    subscriptions: dict[str, list[str]] = {customer_id: [] for customer_id in data.customers}
    invoices: dict[str, list[str]] = {customer_id: [] for customer_id in data.customers}
    for customer in data.customers.values():
        by_org.setdefault(customer.org_id, []).append(customer.id)
    for subscription in data.subscriptions.values():
        subscriptions[subscription.customer_id].append(subscription.id)
    for invoice in data.invoices.values():
        invoices[invoice.customer_id].append(invoice.id)
    data.by_org = {org_id: tuple(ids) for org_id, ids in by_org.items()}
    data.by_customer = {c: (tuple(subscriptions[c]), tuple(invoices[c])) for c in data.customers}
    return data


def _invoices_of(billing: BillingData, customer_id: str) -> list[Invoice]:
    """The customer's invoices, newest first."""
    return [billing.invoices[i] for i in billing.invoices_by_customer.get(customer_id, [])]


def _due_since(subscription: Subscription, invoices: list[Invoice]) -> int | None:
    """For a past-due subscription, when its oldest unpaid invoice fell due (else its term's start)."""
    if subscription.status != "past_due":
        return None
    due = [i.due_date for i in invoices if i.status in {"open", "uncollectible"} and i.due_date is not None]
    return min(due) if due else subscription.current_period_end - 30 * DAY


def _ledger_invoice(invoice: Invoice, customer_id: str, subscription_id: str | None) -> LedgerInvoice:
    paid = invoice.status == "paid"
    return LedgerInvoice(
        id=invoice.id,
        invoice_number=invoice.number,
        customer_id=customer_id,
        subscription_id=subscription_id,
        status=_invoice_status(invoice),
        date=invoice.created,
        due_date=invoice.due_date,
        total=invoice.amount_due,
        amount_paid=invoice.amount_due if paid else 0,
        currency_code=invoice.currency.upper(),
        paid_at=min(invoice.created + 2 * DAY, SEED_NOW) if paid else None,
    )


def _invoice_status(invoice: Invoice) -> str:
    if invoice.status != "open":
        return _INVOICE_WORDS[invoice.status]
    return "posted" if invoice.due_date is not None and invoice.due_date >= SEED_NOW else "payment_due"
