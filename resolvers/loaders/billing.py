"""Loaders over the billing upstream, which has no batch reads: bounded fan-out per key."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from aiodataloader import DataLoader
from pydantic import TypeAdapter

from clients.billing import BillingClient, BillingCustomer, BillingInvoice, BillingSubscription
from clients.errors import UpstreamError
from resolvers.cache import CacheType, RequestCache
from resolvers.cache.types import key_part
from resolvers.loaders.batching import cached, fan_out


@dataclass(frozen=True, slots=True)
class InvoicesKey:
    customer_id: str
    first: int
    status: str | None = None


CUSTOMERS: CacheType[str, BillingCustomer] = CacheType(
    name="customers",
    upstream="billing",
    adapter=TypeAdapter(BillingCustomer),
    key_id=key_part,
    tags=lambda org_id, customer: (f"org:{org_id}", f"customer:{customer.id}"),
    links=lambda org_id, customer: ((f"org:{org_id}", f"customer:{customer.id}"),),
)
SUBSCRIPTIONS: CacheType[str, BillingSubscription] = CacheType(
    name="subscriptions",
    upstream="billing",
    adapter=TypeAdapter(BillingSubscription),
    key_id=key_part,
    tags=lambda customer_id, _subscription: (f"customer:{customer_id}",),
)
INVOICES: CacheType[InvoicesKey, list[BillingInvoice]] = CacheType(
    name="invoices",
    upstream="billing",
    adapter=TypeAdapter(list[BillingInvoice]),
    key_id=lambda key: f"{key_part(key.customer_id)}:{key.first}:{key_part(key.status)}",
    tags=lambda key, _invoices: (f"customer:{key.customer_id}",),
)


class CustomerByOrgLoader(DataLoader[str, BillingCustomer | None]):
    def __init__(self, client: BillingClient, cache: RequestCache | None = None) -> None:
        super().__init__()
        self.client = client
        self.shared_cache = cache

    async def batch_load_fn(self, keys: Sequence[str]) -> list[BillingCustomer | UpstreamError | None]:  # type: ignore[override]  # the stub omits per-key exceptions
        return await cached(self.shared_cache, CUSTOMERS, keys, self._fetch)

    async def _fetch(self, keys: Sequence[str]) -> list[BillingCustomer | UpstreamError | None]:
        return await fan_out(keys, self.client.customer_for_org, limit=self.client.rest.http.policy.max_fanout)


class SubscriptionByCustomerLoader(DataLoader[str, BillingSubscription | None]):
    def __init__(self, client: BillingClient, cache: RequestCache | None = None) -> None:
        super().__init__()
        self.client = client
        self.shared_cache = cache

    async def batch_load_fn(self, keys: Sequence[str]) -> list[BillingSubscription | UpstreamError | None]:  # type: ignore[override]  # the stub omits per-key exceptions
        return await cached(self.shared_cache, SUBSCRIPTIONS, keys, self._fetch)

    async def _fetch(self, keys: Sequence[str]) -> list[BillingSubscription | UpstreamError | None]:
        return await fan_out(keys, self.client.subscription_for_customer, limit=self.client.rest.http.policy.max_fanout)


class InvoicesByCustomerLoader(DataLoader[InvoicesKey, list[BillingInvoice]]):
    def __init__(self, client: BillingClient, cache: RequestCache | None = None) -> None:
        super().__init__()
        self.client = client
        self.shared_cache = cache

    async def batch_load_fn(self, keys: Sequence[InvoicesKey]) -> list[list[BillingInvoice] | UpstreamError]:  # type: ignore[override]  # the stub omits per-key exceptions
        return await cached(self.shared_cache, INVOICES, keys, self._fetch)

    async def _fetch(self, keys: Sequence[InvoicesKey]) -> list[list[BillingInvoice] | UpstreamError]:
        return await fan_out(keys, self._invoices, limit=self.client.rest.http.policy.max_fanout)

    async def _invoices(self, key: InvoicesKey) -> list[BillingInvoice]:
        return await self.client.invoices(key.customer_id, limit=key.first, status=key.status)
