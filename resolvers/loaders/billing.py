"""Loaders over the billing upstream, which has no batch reads: bounded fan-out per key."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from aiodataloader import DataLoader

from clients.billing import BillingClient, BillingCustomer, BillingInvoice, BillingSubscription
from clients.errors import UpstreamError
from resolvers.loaders.batching import fan_out


class CustomerByOrgLoader(DataLoader[str, BillingCustomer | None]):
    def __init__(self, client: BillingClient) -> None:
        super().__init__()
        self.client = client

    async def batch_load_fn(self, keys: Sequence[str]) -> list[BillingCustomer | UpstreamError | None]:  # type: ignore[override]  # the stub omits per-key exceptions
        return await fan_out(keys, self.client.customer_for_org, limit=self.client.rest.http.policy.max_fanout)


class SubscriptionByCustomerLoader(DataLoader[str, BillingSubscription | None]):
    def __init__(self, client: BillingClient) -> None:
        super().__init__()
        self.client = client

    async def batch_load_fn(self, keys: Sequence[str]) -> list[BillingSubscription | UpstreamError | None]:  # type: ignore[override]  # the stub omits per-key exceptions
        return await fan_out(keys, self.client.subscription_for_customer, limit=self.client.rest.http.policy.max_fanout)


@dataclass(frozen=True, slots=True)
class InvoicesKey:
    customer_id: str
    first: int
    status: str | None = None


class InvoicesByCustomerLoader(DataLoader[InvoicesKey, list[BillingInvoice]]):
    def __init__(self, client: BillingClient) -> None:
        super().__init__()
        self.client = client

    async def batch_load_fn(self, keys: Sequence[InvoicesKey]) -> list[list[BillingInvoice] | UpstreamError]:  # type: ignore[override]  # the stub omits per-key exceptions
        return await fan_out(keys, self._invoices, limit=self.client.rest.http.policy.max_fanout)

    async def _invoices(self, key: InvoicesKey) -> list[BillingInvoice]:
        return await self.client.invoices(key.customer_id, limit=key.first, status=key.status)
