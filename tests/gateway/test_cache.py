"""The cache end to end: the real gateway over loopback, the real sandbox and the real Redis."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import pytest
import redis as sync_redis
import yaml
from cache_support import USERS, RedisStandIn
from clock import FakeClock
from config_support import offline_upstreams
from harness import (
    ADMIN_HEADERS,
    DASHBOARD_QUERY,
    Gateway,
    GatewayServer,
    Sandbox,
    gateway_settings,
    upstream_requests,
)
from test_dashboard import DASHBOARD_FLOOR

from mobius.cache_setup import credential_scopes
from mobius.cli import main
from mobius.settings import CallerSettings, Settings, TimeoutSettings, load_settings
from sandbox import SandboxCredentials, SandboxUrls
from sandbox.seed import fresh_seed

SandboxServerInfo = tuple[SandboxUrls, SandboxCredentials]
NO_REQUESTS = upstream_requests()
CACHE_STATS = "{ cacheStats { enabled status types { type l1Hits hits misses coalesced stale errors } } }"


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


class Counted:
    """Upstream API requests made by one step, read from the sandbox's counters."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox

    async def __aenter__(self) -> dict[str, int]:
        self.before = await self.sandbox.api_requests()
        self.counts: dict[str, int] = {}
        return self.counts

    async def __aexit__(self, *_: object) -> None:
        after = await self.sandbox.api_requests()
        self.counts.update({upstream: after[upstream] - self.before[upstream] for upstream in after})


def serve(sandbox_server: SandboxServerInfo, clock: FakeClock | None = None, **overrides: Any) -> GatewayServer:
    return GatewayServer(gateway_settings(sandbox_server, **overrides), cache_clock=clock)


def patient_redis(redis_config: dict[str, str]) -> dict[str, Any]:
    """The real Redis with timeouts a loaded machine keeps: at the defaults (50 ms a command) a
    burst of load opened the store's breaker, and an invalidation answered 503 or a dashboard missed
    entries it holds. These tests count upstream requests; they do not time Redis."""
    return {**redis_config, "socket_timeout_s": 5.0, "connect_timeout_s": 5.0}


@pytest.fixture
def redis_gateway_server(
    sandbox_server: SandboxServerInfo, redis_config: dict[str, str], clock: FakeClock
) -> Iterator[GatewayServer]:
    with serve(sandbox_server, clock, redis=patient_redis(redis_config)) as server:
        yield server


@pytest.fixture
async def cached_gateway(redis_gateway_server: GatewayServer, sandbox: Sandbox, http: aiohttp.ClientSession) -> Gateway:
    """A gateway on the real Redis under the test's own prefix (so it starts cold), its clock faked."""
    gateway = Gateway(url=redis_gateway_server.url, http=http)
    await gateway.query('{ user(id: "user-1") { id } }')  # the sandbox reset revoked the token: fetch a new one
    return gateway


async def dashboard(gateway: Gateway) -> dict[str, Any]:
    return await gateway.query(DASHBOARD_QUERY, {"orgId": "org-1"})


async def ready(gateway: Gateway) -> tuple[int, dict[str, Any]]:
    async with gateway.http.get(f"{gateway.url}/health/ready") as response:
        body: dict[str, Any] = await response.json()
        return response.status, body


async def invalidate(gateway: Gateway, body: dict[str, Any], headers: dict[str, str] | None = None) -> tuple[int, Any]:
    async with gateway.http.post(
        f"{gateway.url}/admin/cache/invalidate", json=body, headers=ADMIN_HEADERS if headers is None else headers
    ) as response:
        return response.status, await response.json()


def assignee_outside_the_members_page() -> str:
    seed = fresh_seed()
    members = set(seed.identity.orgs["org-1"].member_ids[:50])
    projects = seed.projects.projects_by_org["org-1"][:20]
    owners = {seed.projects.projects[p].owner_id for p in projects}
    for project in projects:
        for issue in seed.projects.issues_by_project[project][:10]:
            assignee = seed.projects.issues[issue].assignee_id
            if assignee is not None and assignee not in members | owners:
                return assignee
    raise AssertionError("the seed has no such assignee")


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


async def test_billing_outage_serves_marked_stale_billing_until_the_window_ends(
    cached_gateway: Gateway, sandbox: Sandbox, clock: FakeClock
) -> None:
    fresh = await dashboard(cached_gateway)
    clock.advance(400)  # billing entries are past fresh and stale-while-revalidate, inside stale-if-error (600 s)
    await sandbox.faults("billing", error_rate=1.0, status=503)

    stale = await dashboard(cached_gateway)

    assert "errors" not in stale
    assert stale["data"]["organization"]["billing"] == fresh["data"]["organization"]["billing"]
    marks = {tuple(mark["path"]): mark for mark in stale["extensions"]["stale"]}
    billing = ("organization", "billing")
    assert set(marks) == {billing, *((*billing, field) for field in ("plan", "status", "seats", "invoices"))}
    assert {(mark["upstream"], mark["ageSeconds"]) for mark in marks.values()} == {("billing", 400.0)}

    clock.advance(600)
    expired = await dashboard(cached_gateway)

    assert expired["data"]["organization"]["billing"] is None
    assert [(error["path"], error["extensions"]["code"]) for error in expired["errors"]] == [
        (["organization", "billing"], "UPSTREAM_UNAVAILABLE")
    ]
    assert "extensions" not in expired
    assert len(expired["data"]["organization"]["projects"]["nodes"]) == 20


async def test_unreachable_redis_is_a_degraded_cache_not_an_outage(
    sandbox_server: SandboxServerInfo, sandbox: Sandbox, http: aiohttp.ClientSession
) -> None:
    with serve(sandbox_server, redis={"url": f"redis://127.0.0.1:{closed_port()}/0"}) as server:
        gateway = Gateway(url=server.url, http=http)
        first = await dashboard(gateway)
        second = await dashboard(gateway)
        status, body = await ready(gateway)
        stats = (await gateway.query(CACHE_STATS))["data"]["cacheStats"]

    assert "errors" not in first
    assert second == first
    assert (status, body["status"], body["cache"]) == (200, "ready", {"status": "degraded", "backend": "redis"})
    assert stats["status"] == "degraded"
    assert sum(entry["errors"] for entry in stats["types"]) > 0


async def test_a_stalled_redis_degrades_then_recovers_by_itself(
    sandbox_server: SandboxServerInfo, sandbox: Sandbox, http: aiohttp.ClientSession, redis_url: str, redis_prefix: str
) -> None:
    clock = FakeClock()
    async with RedisStandIn(urlsplit(redis_url).port or 6379) as stand_in:
        stand_in.mode = "stall"
        redis_config = {"url": f"redis://127.0.0.1:{stand_in.port}/0", "key_prefix": redis_prefix}
        with serve(sandbox_server, clock, redis=redis_config) as server:
            gateway = Gateway(url=server.url, http=http)
            assert "errors" not in await dashboard(gateway)
            assert (await ready(gateway))[1]["cache"]["status"] == "degraded"

            stand_in.mode = "forward"
            clock.advance(5.0)  # the store's breaker lets one probe through
            status, body = await ready(gateway)
            assert (status, body["cache"]["status"]) == (200, "ok")
            await dashboard(gateway)
            async with Counted(sandbox) as counts:
                await dashboard(gateway)
            assert counts == NO_REQUESTS


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


async def test_the_admin_endpoint_needs_the_cache_admin_scope(
    sandbox_server: SandboxServerInfo, sandbox: Sandbox, http: aiohttp.ClientSession
) -> None:
    settings = gateway_settings(sandbox_server)
    reader = CallerSettings(name="reader", token="reader-token", scopes=["pii:read"])
    settings = settings.model_copy(update={"callers": [*settings.callers, reader]})
    with GatewayServer(settings) as server:
        gateway = Gateway(url=server.url, http=http)
        body = {"entities": ["User:user-1"]}
        assert (await invalidate(gateway, body, headers={}))[0] == 401
        assert (await invalidate(gateway, body, headers={"Authorization": "Bearer nope"}))[0] == 401
        assert (await invalidate(gateway, body, headers={"Authorization": "Bearer reader-token"}))[0] == 403
        assert (await invalidate(gateway, {"entities": ["Nothing:1"]}))[0] == 400
        assert (await invalidate(gateway, {}))[0] == 400
        assert await invalidate(gateway, body) == (200, {"deleted": 0})


def test_cli_invalidates_on_the_configured_redis(
    tmp_path: Path, redis_url: str, redis_prefix: str, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "mobius.yaml"
    upstreams = offline_upstreams()
    upstreams["identity"]["auth"] = {
        "type": "oauth2_client_credentials",
        "token_url": "/t",
        "client_id": "gw",
        "client_secret": "s",
    }
    config.write_text(yaml.safe_dump({"redis": {"url": redis_url, "key_prefix": redis_prefix}, "upstreams": upstreams}))
    scope = credential_scopes(load_settings(config))["identity"]
    key = redis_prefix + USERS.key("u-42", scope)
    client = sync_redis.Redis.from_url(redis_url)
    try:
        client.set(key, b"entry", ex=60)

        assert main(["cache", "invalidate", "--config", str(config), "--entity", "User:u-42"]) == 0
        assert client.exists(key) == 0
        assert "deleted 1" in capsys.readouterr().out

        assert main(["cache", "invalidate", "--config", str(config), "--entity", "u-42"]) == 2
        assert "Type:id" in capsys.readouterr().err
    finally:
        client.close()


def test_cli_explains_that_the_in_process_cache_cannot_be_reached(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "mobius.yaml"
    config.write_text(yaml.safe_dump({"upstreams": offline_upstreams()}))
    assert main(["cache", "invalidate", "--config", str(config), "--tag", "org:org-1"]) == 2
    assert "redis.url" in capsys.readouterr().err


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


async def test_stale_items_of_a_list_field_are_marked_by_index(
    cached_gateway: Gateway, sandbox: Sandbox, clock: FakeClock
) -> None:
    query = '{ users(ids: ["user-2", "user-3"]) { id name } }'
    fresh = await cached_gateway.query(query)
    clock.advance(100)  # users: 60 s fresh + 30 s stale-while-revalidate have passed
    await sandbox.faults("identity", error_rate=1.0, status=503)

    stale = await cached_gateway.query(query)

    assert stale["data"] == fresh["data"]
    assert stale["extensions"]["stale"] == [
        {"path": ["users", 0], "upstream": "identity", "ageSeconds": 100.0},
        {"path": ["users", 1], "upstream": "identity", "ageSeconds": 100.0},
    ]


async def test_with_billings_breaker_open_stale_billing_is_served_without_asking_billing(
    cached_gateway: Gateway, sandbox: Sandbox, clock: FakeClock
) -> None:
    fresh = await dashboard(cached_gateway)
    clock.advance(400)  # past fresh and stale-while-revalidate, inside stale-if-error
    await sandbox.faults("billing", error_rate=1.0, status=503)
    state = "CLOSED"
    for _ in range(10):
        await dashboard(cached_gateway)
        upstreams = (await cached_gateway.query("{ upstreams { name state } }"))["data"]["upstreams"]
        state = next(upstream["state"] for upstream in upstreams if upstream["name"] == "billing")
        if state == "OPEN":
            break
    assert state == "OPEN"

    async with Counted(sandbox) as made:
        stale = await dashboard(cached_gateway)

    assert made["billing"] == 0, "an open breaker sends nothing"
    assert "errors" not in stale
    assert stale["data"]["organization"]["billing"] == fresh["data"]["organization"]["billing"]
    marks = {tuple(mark["path"]): mark for mark in stale["extensions"]["stale"]}
    assert marks[("organization", "billing")]["upstream"] == "billing"
    assert marks[("organization", "billing")]["ageSeconds"] >= 400


async def test_users_served_stale_are_still_marked_where_owners_and_assignees_name_them(
    cached_gateway: Gateway, sandbox: Sandbox, clock: FakeClock
) -> None:
    fresh = await dashboard(cached_gateway)
    clock.advance(100)  # users: 60 s fresh + 30 s stale-while-revalidate have passed
    await sandbox.faults("identity", error_rate=1.0, status=503)

    stale = await dashboard(cached_gateway)

    assert stale["data"] == fresh["data"]
    marks = {tuple(mark["path"]) for mark in stale["extensions"]["stale"]}
    user_id = assignee_outside_the_members_page()
    named = [
        ("organization", "projects", "nodes", project, "issues", "nodes", issue, "assignee")
        for project, node in enumerate(fresh["data"]["organization"]["projects"]["nodes"])
        for issue, each in enumerate(node["issues"]["nodes"])
        if each["assignee"] is not None and each["assignee"]["id"] == user_id
    ]
    assert named
    assert set(named) <= marks
