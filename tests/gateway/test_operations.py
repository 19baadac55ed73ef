"""Operational state over HTTP: every answer names the process that gave it, the fleet view sums
every process reporting to Redis, and operators force breakers open or closed (audited)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml
from config_support import offline_upstreams
from harness import ADMIN_HEADERS, Gateway, GatewayServer, Sandbox, gateway_settings
from redis_support import RedisBackend
from structlog.testing import capture_logs

from mobius.cli import main
from mobius.redis import create_redis
from resolvers.fleet import InstanceReport, RedisFleet, cache_counters
from sandbox import SandboxCredentials, SandboxUrls

SandboxServerInfo = tuple[SandboxUrls, SandboxCredentials]

UPSTREAMS = "{ upstreams { name state forcedBy instance } }"
FLEET = """{ fleet { answeredBy shared
  instances { instance ready upstreams { name instance } cacheStats { instance types { type misses } } }
  upstreams { name open closed forcedBy }
  cacheStats { instance types { type misses } } } }"""
BILLING = '{ organization(id: "org-1") { billing { plan } } }'


async def force(gateway: Gateway, name: str, action: str, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    async with gateway.http.post(f"{gateway.url}/admin/upstreams/{name}/{action}", headers=headers) as response:
        return response.status, await response.json()


async def test_forcing_an_upstream_needs_the_upstreams_admin_scope(gateway: Gateway) -> None:
    assert (await force(gateway, "billing", "force-open"))[0] == 401
    assert (await force(gateway, "billing", "force-open", {"Authorization": "Bearer nobody"}))[0] == 401
    status, body = await force(gateway, "nowhere", "force-open", ADMIN_HEADERS)
    assert (status, body["detail"]) == (404, "no upstream named 'nowhere'; known: billing, identity, projects, support")


async def test_a_forced_open_upstream_is_not_called_until_released_and_says_who(
    gateway: Gateway, sandbox: Sandbox
) -> None:
    with capture_logs() as logs:
        status, body = await force(gateway, "billing", "force-open", ADMIN_HEADERS)
    assert (status, body) == (200, {"upstream": "billing", "state": "OPEN", "forced_by": "demo-admin", "fleet": False})
    assert {"event": "upstream_force_requested", "upstream": "billing", "action": "force-open"}.items() <= logs[
        0
    ].items()
    assert logs[0]["by"] == "demo-admin"

    await sandbox.reset()
    answer = await gateway.query(BILLING)
    assert answer["data"]["organization"]["billing"] is None
    assert answer["errors"][0]["extensions"]["code"] == "UPSTREAM_UNAVAILABLE"
    assert (await sandbox.stats("billing"))["requests"] == 0
    rows = {row["name"]: row for row in (await gateway.query(UPSTREAMS))["data"]["upstreams"]}
    assert (rows["billing"]["state"], rows["billing"]["forcedBy"]) == ("OPEN", "demo-admin")

    assert (await force(gateway, "billing", "release", ADMIN_HEADERS))[1]["state"] == "CLOSED"
    assert (await gateway.query(BILLING))["data"]["organization"]["billing"]["plan"]


async def test_every_answer_names_the_process_that_gave_it(gateway: Gateway) -> None:
    rows = (await gateway.query(UPSTREAMS))["data"]["upstreams"]
    instance = rows[0]["instance"]
    assert instance.rsplit(":", 1)[1].isdigit()  # <host>:<pid>
    assert {row["instance"] for row in rows} == {instance}
    assert (await gateway.query("{ cacheStats { instance } }"))["data"]["cacheStats"]["instance"] == instance
    async with gateway.http.get(f"{gateway.url}/health/ready") as response:
        assert (await response.json())["instance"] == instance

    fleet = (await gateway.query(FLEET))["data"]["fleet"]
    assert (fleet["answeredBy"], fleet["shared"], [i["instance"] for i in fleet["instances"]]) == (
        instance,
        False,
        [instance],
    )


@pytest.fixture
def replicas(sandbox_server: SandboxServerInfo, redis_config: dict[str, str]) -> Iterator[list[GatewayServer]]:
    """Two gateway replicas on one Redis (one prefix), reporting to the fleet view every 0.1 s."""
    servers = [
        GatewayServer(gateway_settings(sandbox_server, redis=redis_config, instance={"name": name, "report_s": 0.1}))
        for name in ("replica-a", "replica-b")
    ]
    for server in servers:
        server.__enter__()
    yield servers
    for server in servers:
        server.__exit__()


async def eventually(check: Callable[[], Any], what: str) -> Any:
    for _ in range(250):
        found = await check()
        if found:
            return found
        await asyncio.sleep(0.02)
    raise AssertionError(f"within 5 s: {what}")


async def test_the_fleet_view_shows_every_replica_and_their_totals(
    replicas: list[GatewayServer], sandbox: Sandbox, http: aiohttp.ClientSession
) -> None:
    a, b = (Gateway(url=server.url, http=http) for server in replicas)
    await a.query('{ user(id: "user-1") { id } }')
    await b.query('{ user(id: "user-2") { id } }')

    def user_misses(fleet: dict[str, Any]) -> dict[str, int]:
        return {
            i["instance"].split(":")[0]: next(t["misses"] for t in i["cacheStats"]["types"] if t["type"] == "users")
            for i in fleet["instances"]
        }

    async def both() -> Any:
        fleet = (await a.query(FLEET))["data"]["fleet"]
        misses = user_misses(fleet)
        return fleet if sorted(misses) == ["replica-a", "replica-b"] and min(misses.values()) >= 1 else None

    fleet = await eventually(both, "both replicas in the fleet view, each with its own read")
    misses = user_misses(fleet)
    total = next(t["misses"] for t in fleet["cacheStats"]["types"] if t["type"] == "users")
    assert (fleet["shared"], fleet["answeredBy"].split(":")[0], fleet["cacheStats"]["instance"]) == (
        True,
        "replica-a",
        "fleet",
    )
    assert total == misses["replica-a"] + misses["replica-b"] >= 2
    assert all(row["instance"] == i["instance"] for i in fleet["instances"] for row in i["upstreams"])


async def test_forcing_through_one_replica_or_the_cli_reaches_every_replica(
    replicas: list[GatewayServer],
    sandbox: Sandbox,
    http: aiohttp.ClientSession,
    redis_config: dict[str, str],
    tmp_path: Path,
) -> None:
    a, b = (Gateway(url=server.url, http=http) for server in replicas)

    async def billing_on_b() -> dict[str, Any]:
        rows = (await b.query(UPSTREAMS))["data"]["upstreams"]
        return next(row for row in rows if row["name"] == "billing")

    assert (await force(a, "billing", "force-open", ADMIN_HEADERS))[1]["fleet"] is True
    await eventually(lambda: _is(billing_on_b(), "OPEN", "demo-admin"), "b hears the force")

    config = tmp_path / "mobius.yaml"
    config.write_text(yaml.safe_dump({"redis": redis_config, "upstreams": offline_upstreams()}))
    command = ["upstreams", "force-close", "billing", "--config", str(config), "--by", "ops-carol"]
    assert await asyncio.to_thread(main, command) == 0
    await eventually(lambda: _is(billing_on_b(), "CLOSED", "ops-carol"), "b is forced closed by the cli")
    assert await asyncio.to_thread(main, ["upstreams", "release", "billing", "--config", str(config)]) == 0
    await eventually(lambda: _is(billing_on_b(), "CLOSED", None), "released")
    assert await asyncio.to_thread(main, ["upstreams", "release", "nowhere", "--config", str(config)]) == 2


async def _is(row: Any, state: str, forced_by: str | None) -> bool:
    found = await row
    return bool(found["state"] == state and found["forcedBy"] == forced_by)


async def test_a_process_that_stops_reporting_drops_out_of_the_fleet_view(
    redis_backend: RedisBackend, backend_prefix: str
) -> None:
    target = redis_backend.target(backend_prefix)

    def fleet_of(instance: str, report_s: float) -> RedisFleet:
        def report() -> InstanceReport:
            return InstanceReport(instance, time.time(), True, (), cache_counters(None, None))

        return RedisFleet(
            create_redis(target), prefix=backend_prefix, instance=instance, report=report, report_s=report_s
        )

    # A report lives 3 x report_s: long enough that a loaded machine reads it before it expires
    # (a cluster client's first command also discovers the cluster), short enough to wait out.
    crashed, here = fleet_of("crashed:1", 0.5), fleet_of("here:2", 60.0)
    try:
        await here.reports()  # both clients connected before the clock starts
        await crashed.reports()
        await crashed.publish()  # reported once, then never again (and never said goodbye)
        assert [report.instance for report in await here.reports()] == ["here:2", "crashed:1"]

        async def alone() -> bool:
            return [report.instance for report in await here.reports()] == ["here:2"]

        await eventually(alone, "the silent process expires from the view")
    finally:
        await crashed.client.aclose()
        await here.client.aclose()
