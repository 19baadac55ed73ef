"""Chaos matrix: each fault kind on billing, the dashboard keeps identity and projects data, and
its latency stays within a bound derived from billing's configured timeout and retries (generous,
not a machine-speed number). Observed latencies are printed with ``-s`` for the record."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import aiohttp
import pytest
from harness import DASHBOARD_QUERY, Gateway, GatewayServer, Sandbox, fresh_gateway

from sandbox import SandboxCredentials, SandboxUrls
from tests.clients.support import settings_with

BILLING_TIMEOUT_S = 0.5
ATTEMPTS = 3
CAP_S = 0.1
BOUND_S = ATTEMPTS * (BILLING_TIMEOUT_S + CAP_S) + 3.0
"""Worst case: every attempt runs to billing's timeout with the longest backoff, plus slack."""

FAULTS: dict[str, dict[str, Any]] = {
    "latency-spike": {"latency_ms": 200},
    "503-burst": {"error_burst": 2, "status": 503},
    "503-always": {"error_rate": 1.0, "status": 503},
    "429-retry-after": {"rate_limit": {"limit": 0, "window_s": 60}},
    "hang": {"hang": True},
    "connection-reset": {"reset_connection": True},
    "garbage-body": {"malformed": True},
}
BILLING_CODES = {"UPSTREAM_UNAVAILABLE", "UPSTREAM_TIMEOUT", "RATE_LIMITED", "UPSTREAM_INVALID_RESPONSE"}


@pytest.fixture(scope="module")
def chaos_gateway_server(sandbox_server: tuple[SandboxUrls, SandboxCredentials]) -> Iterator[GatewayServer]:
    urls, credentials = sandbox_server
    billing = {
        "timeouts": {"connect_s": BILLING_TIMEOUT_S, "read_s": BILLING_TIMEOUT_S, "total_s": BILLING_TIMEOUT_S},
        "resilience": {"retry": {"attempts": ATTEMPTS, "base_s": 0.05, "cap_s": CAP_S}},
    }
    with GatewayServer(settings_with(urls, credentials, billing=billing)) as server:
        yield server


@pytest.fixture
async def chaos_gateway(chaos_gateway_server: GatewayServer, sandbox: Sandbox, http: aiohttp.ClientSession) -> Gateway:
    return await fresh_gateway(chaos_gateway_server, http, empty_cache=False)


async def timed_dashboard(gateway: Gateway) -> tuple[dict[str, Any], float]:
    started = time.perf_counter()
    result = await gateway.query(DASHBOARD_QUERY, {"orgId": "org-1"})
    return result, time.perf_counter() - started


@pytest.mark.parametrize("fault", list(FAULTS))
async def test_the_dashboard_survives_each_billing_fault(chaos_gateway: Gateway, sandbox: Sandbox, fault: str) -> None:
    _, healthy_s = await timed_dashboard(chaos_gateway)
    await sandbox.reset()
    await sandbox.faults("billing", **FAULTS[fault])

    result, faulty_s = await timed_dashboard(chaos_gateway)

    print(f"\n{fault}: dashboard {healthy_s * 1000:.0f} ms healthy, {faulty_s * 1000:.0f} ms with the fault")
    org = result["data"]["organization"]
    assert len(org["members"]["nodes"]) == 50
    assert [member["name"] for member in org["members"]["nodes"]].count(None) == 0
    assert len(org["projects"]["nodes"]) == 20
    assert all(project["owner"] is not None for project in org["projects"]["nodes"])
    assert {error["extensions"]["upstream"] for error in result.get("errors", [])} <= {"billing"}
    assert {error["extensions"]["code"] for error in result.get("errors", [])} <= BILLING_CODES
    assert faulty_s < BOUND_S
    if fault in ("latency-spike", "503-burst"):
        assert org["billing"]["plan"] is not None  # waited out, or retried through
        assert "errors" not in result
