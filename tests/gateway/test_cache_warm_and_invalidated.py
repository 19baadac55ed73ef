"""The entity cache end to end, answering: a warm dashboard asks no upstream (Redis or in process,
from another replica too), concurrent cold ones cost what one costs, and an invalidation (by entity,
by tag, by a mutation) sends upstream exactly what it dropped."""

from __future__ import annotations

import asyncio

import aiohttp
from cache_gateway_support import (
    CACHE_STATS,
    NO_REQUESTS,
    Counted,
    assignee_outside_the_members_page,
    dashboard,
    invalidate,
    patient_redis,
    ready,
    serve,
)
from clock import FakeClock
from harness import ADMIN_HEADERS, Gateway, GatewayServer, Sandbox, gateway_settings, upstream_requests
from response_cache_support import SandboxServerInfo
from test_dashboard import DASHBOARD_FLOOR

from mobius.settings import Settings, TimeoutSettings


async def test_warm_dashboard_makes_no_upstream_requests_and_returns_the_same_data(
    cached_gateway: Gateway,
    sandbox: Sandbox,
    sandbox_server: SandboxServerInfo,
    redis_config: dict[str, str],
    clock: FakeClock,
) -> None:
    async with Counted(sandbox) as cold_counts:
        cold = await dashboard(cached_gateway)
    async with Counted(sandbox) as warm_counts:
        warm = await dashboard(cached_gateway)

    assert "errors" not in cold
    assert cold_counts == DASHBOARD_FLOOR
    assert warm_counts == NO_REQUESTS
    assert warm == cold

    with serve(sandbox_server, clock, redis=patient_redis(redis_config)) as other_replica:
        replica = Gateway(url=other_replica.url, http=cached_gateway.http)
        async with Counted(sandbox) as replica_counts:
            assert await dashboard(replica) == cold  # from Redis: nothing in this replica's L1 yet
    assert replica_counts == NO_REQUESTS

    stats = (await cached_gateway.query(CACHE_STATS))["data"]["cacheStats"]
    by_type = {entry["type"]: entry for entry in stats["types"]}
    assert stats["enabled"] is True
    assert stats["status"] == "ok"
    assert by_type["orgs"]["misses"] >= 1
    assert by_type["orgs"]["l1Hits"] >= 1
    assert by_type["invoices"]["errors"] == 0


async def test_invalidating_a_user_sends_exactly_its_identity_batch_upstream(
    cached_gateway: Gateway, sandbox: Sandbox
) -> None:
    user_id = assignee_outside_the_members_page()
    before = await dashboard(cached_gateway)

    assert await invalidate(cached_gateway, {"entities": [f"User:{user_id}"]}) == (200, {"deleted": 1})
    users_before = (await sandbox.stats("identity"))["routes"]["GET /v1/users"]
    async with Counted(sandbox) as counts:
        after = await dashboard(cached_gateway)

    assert counts == upstream_requests(identity=1)
    assert (await sandbox.stats("identity"))["routes"]["GET /v1/users"] == users_before + 1
    assert after == before


async def test_invalidating_an_org_tag_drops_its_billing_and_projects(
    cached_gateway: Gateway, sandbox: Sandbox
) -> None:
    await dashboard(cached_gateway)

    status, body = await invalidate(cached_gateway, {"tags": ["org:org-1"]})
    async with Counted(sandbox) as counts:
        await dashboard(cached_gateway)

    assert status == 200
    assert body["deleted"] > 0
    assert counts == DASHBOARD_FLOOR


def patient(settings: Settings) -> Settings:
    """Long upstream timeouts: gateway, sandbox and test share one process (and its GIL), so under
    a burst the sandbox may answer late; this test counts requests, it does not time them."""
    timeouts = TimeoutSettings(read_s=60, total_s=60)
    upstreams = settings.upstreams.model_copy(
        update={name: upstream.model_copy(update={"timeouts": timeouts}) for name, upstream in settings.upstreams}
    )
    return settings.model_copy(update={"upstreams": upstreams})


async def test_concurrent_cold_dashboards_cost_what_one_costs(
    sandbox_server: SandboxServerInfo, sandbox: Sandbox, http: aiohttp.ClientSession, redis_config: dict[str, str]
) -> None:
    with GatewayServer(patient(gateway_settings(sandbox_server, redis=redis_config))) as server:
        gateway = Gateway(url=server.url, http=http)
        await gateway.query('{ user(id: "user-1") { id } }')
        async with Counted(sandbox) as counts:
            results = await asyncio.gather(*(dashboard(gateway) for _ in range(100)))

    assert [result["errors"] for result in results if "errors" in result][:1] == []
    assert all(result == results[0] for result in results)
    assert counts == DASHBOARD_FLOOR


async def test_the_in_process_store_caches_too(gateway: Gateway, sandbox: Sandbox) -> None:
    await gateway.query('{ user(id: "user-1") { id } }')
    async with Counted(sandbox) as cold_counts:
        cold = await dashboard(gateway)
    async with Counted(sandbox) as warm_counts:
        warm = await dashboard(gateway)

    assert cold_counts == DASHBOARD_FLOOR
    assert warm_counts == NO_REQUESTS
    assert warm == cold
    assert (await ready(gateway))[1]["cache"] == {"status": "ok", "backend": "in-process"}


async def test_paying_an_invoice_drops_the_cached_invoice_lists(cached_gateway: Gateway, sandbox: Sandbox) -> None:
    open_invoices = '{ organization(id: "org-1") { billing { invoices(first: 20, status: "open") { id } } } }'

    async def open_ids() -> list[str]:
        result = await cached_gateway.query(open_invoices)
        return [invoice["id"] for invoice in result["data"]["organization"]["billing"]["invoices"]]

    listed = await open_ids()
    paid = await cached_gateway.query(
        'mutation ($id: ID!) { payInvoice(id: $id, idempotencyKey: "k-1") { status } }',
        {"id": listed[0]},
        headers=ADMIN_HEADERS,
    )
    relisted = await open_ids()

    assert paid["data"]["payInvoice"]["status"] == "PAID"
    assert listed[0] not in relisted
    assert relisted[: len(listed) - 1] == listed[1:]
