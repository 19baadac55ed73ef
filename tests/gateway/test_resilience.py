"""Resilience seen through the gateway: deadlines from a header, open breakers, coded errors with
path and retryAfter, declared fallbacks, and the `upstreams` query."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import aiohttp
import pytest
from harness import DASHBOARD_QUERY, Gateway, GatewayServer, Sandbox, fresh_gateway, gateway_settings

from mobius.app import create_app
from mobius.settings import ConfigError, RedisSettings, SecretRef
from mobius.upstreams import build_upstreams
from sandbox import SandboxCredentials, SandboxUrls
from tests.clients.resilience_support import FakeTime
from tests.clients.support import settings_with

UPSTREAMS_QUERY = """
{ upstreams { name url state failureRate slowCallRate callsInWindow inFlight retryBudgetLeft
              rateLimitRemaining lastError transitions { fromState toState reason secondsAgo } } }
"""
BILLING_BREAKER = {"minimum_calls": 2, "window_size": 4, "failure_rate_threshold": 50, "open_s": 30}


def errors_by_path(result: dict[str, Any]) -> dict[tuple[str | int, ...], dict[str, Any]]:
    return {tuple(error["path"]): error for error in result.get("errors", [])}


@pytest.fixture(scope="module")
def fake_time() -> FakeTime:
    return FakeTime()


@pytest.fixture(scope="module")
def strict_gateway_server(
    sandbox_server: tuple[SandboxUrls, SandboxCredentials], fake_time: FakeTime
) -> Iterator[GatewayServer]:
    """A gateway on a fake clock whose billing breaker opens after two failures in two calls,
    and that serves no fallbacks."""
    urls, credentials = sandbox_server
    settings = settings_with(
        urls, credentials, billing={"resilience": {"breaker": BILLING_BREAKER, "retry": {"attempts": 1}}}
    )
    settings = settings.model_copy(update={"degradation": settings.degradation.model_copy(update={"fallbacks": []})})
    upstreams = build_upstreams(settings, time=fake_time.source())
    with GatewayServer(settings, upstreams=upstreams, clock=fake_time.monotonic) as server:
        yield server


@pytest.fixture
async def strict_gateway(
    strict_gateway_server: GatewayServer, sandbox: Sandbox, http: aiohttp.ClientSession
) -> Gateway:
    return await fresh_gateway(strict_gateway_server, http, empty_cache=False)


async def test_the_deadline_header_shortens_upstream_timeouts(gateway: Gateway, sandbox: Sandbox) -> None:
    await sandbox.faults("billing", hang=True)  # billing's own timeout is 8 s

    result = await gateway.query(DASHBOARD_QUERY, {"orgId": "org-1"}, headers={"Mobius-Deadline-Ms": "1500"})

    org = result["data"]["organization"]
    assert org["billing"] is None
    assert len(org["members"]["nodes"]) == 50
    assert len(org["projects"]["nodes"]) == 20
    error = errors_by_path(result)[("organization", "billing")]
    assert error["extensions"] == {"code": "DEADLINE_EXCEEDED", "upstream": "billing"}
    ended_after = re.search(r"deadline ended the call after ([0-9.]+) s", error["message"])
    assert ended_after is not None
    assert float(ended_after.group(1)) <= 1.5  # the header's 1.5 s, not billing's own 8 s


@pytest.mark.parametrize("value", ["soon", "0", "-5"])
async def test_an_invalid_deadline_header_is_refused(gateway: Gateway, value: str) -> None:
    payload = {"query": "{ upstreams { name } }"}
    async with gateway.http.post(f"{gateway.url}/graphql", json=payload, headers={"Mobius-Deadline-Ms": value}) as r:
        assert r.status == 400
        assert "Mobius-Deadline-Ms" in await r.text()


async def test_a_declared_fallback_serves_an_empty_list_and_still_reports_the_error(
    gateway: Gateway, sandbox: Sandbox
) -> None:
    await sandbox.faults("billing", error_rate=1.0, status=503, routes=["GET /v1/invoices"])

    result = await gateway.query(DASHBOARD_QUERY, {"orgId": "org-1"})

    billing = result["data"]["organization"]["billing"]
    assert billing["plan"] is not None
    assert billing["invoices"] == []
    errors = errors_by_path(result)
    assert list(errors) == [("organization", "billing", "invoices")]
    assert errors[("organization", "billing", "invoices")]["extensions"] == {
        "code": "UPSTREAM_UNAVAILABLE",
        "upstream": "billing",
        "fallback": True,
    }


async def test_without_the_fallback_the_failure_nulls_the_billing_account(
    strict_gateway: Gateway, sandbox: Sandbox
) -> None:
    await sandbox.faults("billing", error_rate=1.0, status=503, routes=["GET /v1/invoices"])

    result = await strict_gateway.query(DASHBOARD_QUERY, {"orgId": "org-1"})

    assert result["data"]["organization"]["billing"] is None
    error = errors_by_path(result)[("organization", "billing", "invoices")]
    assert error["extensions"] == {"code": "UPSTREAM_UNAVAILABLE", "upstream": "billing"}


async def test_an_open_breaker_reports_code_path_and_retry_after_and_spares_billing(
    strict_gateway: Gateway, sandbox: Sandbox, fake_time: FakeTime
) -> None:
    await sandbox.faults("billing", error_rate=1.0, status=503)
    for _ in range(2):
        await strict_gateway.query(DASHBOARD_QUERY, {"orgId": "org-1"})
    before = (await sandbox.api_requests())["billing"]
    fake_time.advance(5)

    result = await strict_gateway.query(DASHBOARD_QUERY, {"orgId": "org-1"})

    assert (await sandbox.api_requests())["billing"] == before == 2
    org = result["data"]["organization"]
    assert org["billing"] is None
    assert len(org["members"]["nodes"]) == 50
    error = errors_by_path(result)[("organization", "billing")]
    assert error["extensions"] == {"code": "UPSTREAM_UNAVAILABLE", "upstream": "billing", "retryAfter": 25}
    assert error["path"] == ["organization", "billing"]


async def test_the_upstreams_query_and_readiness_show_the_open_breaker(
    strict_gateway: Gateway, sandbox: Sandbox
) -> None:
    await sandbox.faults("billing", error_rate=1.0, status=503)
    for _ in range(2):
        await strict_gateway.query(DASHBOARD_QUERY, {"orgId": "org-1"})

    health = {u["name"]: u for u in (await strict_gateway.query(UPSTREAMS_QUERY))["data"]["upstreams"]}

    billing = health["billing"]
    assert billing["state"] == "OPEN"
    assert billing["failureRate"] == 100
    assert billing["callsInWindow"] == 2
    assert billing["lastError"] == "UPSTREAM_UNAVAILABLE"
    assert billing["inFlight"] == 0
    assert billing["transitions"] == [
        {"fromState": "CLOSED", "toState": "OPEN", "reason": "thresholds reached", "secondsAgo": 0}
    ]
    assert health["identity"]["state"] == "CLOSED"
    assert health["identity"]["failureRate"] == 0
    assert health["identity"]["retryBudgetLeft"] == 10
    async with strict_gateway.http.get(f"{strict_gateway.url}/health/ready") as ready:
        body = await ready.json()
    assert ready.status == 200
    assert body["circuits"] == {name: "OPEN" if name == "billing" else "CLOSED" for name in health}


async def test_the_upstreams_query_reports_what_the_rate_limit_headers_said(gateway: Gateway, sandbox: Sandbox) -> None:
    await sandbox.faults("billing", rate_limit={"limit": 100, "window_s": 60})

    await gateway.query(DASHBOARD_QUERY, {"orgId": "org-1"})
    health = {u["name"]: u for u in (await gateway.query(UPSTREAMS_QUERY))["data"]["upstreams"]}

    assert 0 < health["billing"]["rateLimitRemaining"] < 100
    assert health["projects"]["rateLimitRemaining"] is not None  # from GraphQL extensions.rateLimit


def test_an_unknown_fallback_is_a_configuration_error(sandbox_server: tuple[SandboxUrls, SandboxCredentials]) -> None:
    settings = gateway_settings(sandbox_server, degradation={"fallbacks": ["User.nope"]})

    with pytest.raises(ConfigError, match=r"User\.nope"):
        create_app(settings)


def test_resilience_settings_are_validated_naming_the_key(
    sandbox_server: tuple[SandboxUrls, SandboxCredentials],
) -> None:
    urls, credentials = sandbox_server

    with pytest.raises(ConfigError, match=r"upstreams\.billing\.resilience\.breaker\.window"):
        settings_with(urls, credentials, billing={"resilience": {"breaker": {"window": "sliding"}}})


async def test_replicas_sharing_redis_share_what_billing_said_about_its_rate_limit(
    sandbox: Sandbox, http: aiohttp.ClientSession, redis_url: str, redis_prefix: str
) -> None:
    base = settings_with(sandbox.urls, sandbox.credentials, billing={"resilience": {"retry": {"attempts": 1}}})
    redis = RedisSettings(url=SecretRef(value=redis_url), key_prefix=redis_prefix)
    settings = base.model_copy(update={"redis": redis})
    query = '{ organization(id: "org-2") { billing { plan } } }'
    await sandbox.faults("billing", rate_limit={"limit": 0, "window_s": 60})
    with GatewayServer(settings) as first, GatewayServer(settings) as second:
        told = await Gateway(url=first.url, http=http).query(query)
        billing_requests = (await sandbox.api_requests())["billing"]
        held = await Gateway(url=second.url, http=http).query(query)

    said = told["errors"][0]["extensions"]
    assert said["code"] == "RATE_LIMITED"
    [error] = held["errors"]
    assert error["extensions"]["code"] == "RATE_LIMITED"
    assert said["retryAfter"] - 2 < error["extensions"]["retryAfter"] <= said["retryAfter"], (
        "the other replica learned billing's Retry-After from Redis"
    )
    assert (await sandbox.api_requests())["billing"] == billing_requests, "the second replica sent nothing to billing"
