"""The entity cache end to end, when upstreams or Redis fail: stale entries served and marked
within stale-if-error (also behind an open breaker), and a Redis that is unreachable or stalls is a
degraded cache, not an outage."""

from __future__ import annotations

from urllib.parse import urlsplit

import aiohttp
from cache_gateway_support import (
    CACHE_STATS,
    NO_REQUESTS,
    Counted,
    assignee_outside_the_members_page,
    dashboard,
    ready,
    serve,
)
from cache_support import RedisStandIn
from clock import FakeClock
from harness import Gateway, Sandbox, free_port
from response_cache_support import SandboxServerInfo


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
    with serve(sandbox_server, redis={"url": f"redis://127.0.0.1:{free_port()}/0"}) as server:
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
