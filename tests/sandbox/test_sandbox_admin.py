"""The admin API: request counters, reset, fault injection, OpenAPI documents."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable

import aiohttp
import pytest
from canary import CANARY_CREDENTIALS

from sandbox import SandboxUrls, build_apps
from sandbox.admin import api_routes
from sandbox.faults import FixedWindowLimiter

Billing = Callable[..., Awaitable[aiohttp.ClientResponse]]


async def _post(http: aiohttp.ClientSession, url: str, body: object) -> tuple[int, dict[str, object]]:
    async with http.post(url, json=body) as response:
        return response.status, await response.json()


async def _stats(http: aiohttp.ClientSession, base: str) -> dict[str, object]:
    async with http.get(f"{base}/_sandbox/stats") as response:
        result: dict[str, object] = await response.json()
        return result


async def test_stats_count_every_api_request_by_route_template(
    fresh_sandbox: SandboxUrls, http: aiohttp.ClientSession, identity_headers: dict[str, str]
) -> None:
    base = fresh_sandbox.identity
    for path in ("/v1/users/user-1", "/v1/users/user-2", "/v1/users?ids=user-1", "/v1/orgs/org-1/members"):
        async with http.get(f"{base}{path}", headers=identity_headers) as response:
            assert response.status == 200
    async with http.get(f"{base}/v1/users/user-1") as response:  # rejected, still counted
        assert response.status == 401
    async with http.get(f"{base}/openapi.json") as response:  # outside the API, not counted
        assert response.status == 200
    assert await _stats(http, base) == {
        "requests": 6,
        "routes": {
            "GET /v1/orgs/{id}/members": 1,
            "GET /v1/users": 1,
            "GET /v1/users/{id}": 3,
            "POST /oauth/token": 1,
        },
        "credentials": {"client_secret": {"current": "k1", "active": ["k1"], "accepted": {"k1": 1}, "rejected": 0}},
    }
    await _post(http, f"{base}/_sandbox/reset", {})
    assert await _stats(http, base) == {
        "requests": 0,
        "routes": {},
        "credentials": {"client_secret": {"current": "k1", "active": ["k1"], "accepted": {}, "rejected": 0}},
    }
    async with http.get(f"{base}/v1/users/user-1", headers=identity_headers) as response:
        assert response.status == 401  # reset forgot the token


async def test_latency_fault_delays_api_requests(urls: SandboxUrls, http: aiohttp.ClientSession) -> None:
    assert await _post(http, f"{urls.projects}/_sandbox/faults", {"latency_ms": 200}) == (200, {"latency_ms": 200.0})
    started = time.perf_counter()
    async with http.post(f"{urls.projects}/graphql", json={"query": "{ __typename }"}) as response:
        assert response.status == 401
    assert time.perf_counter() - started >= 0.18


async def test_error_rate_fault_answers_with_the_status(
    urls: SandboxUrls, http: aiohttp.ClientSession, billing: Billing
) -> None:
    await _post(http, f"{urls.billing}/_sandbox/faults", {"error_rate": 1.0, "status": 502})
    response = await billing("GET", "/v1/customers?org_id=org-1")
    assert response.status == 502
    assert (await response.json())["error"]["type"] == "api_error"


async def test_hang_fault_outlasts_a_client_timeout(
    urls: SandboxUrls, http: aiohttp.ClientSession, identity_headers: dict[str, str]
) -> None:
    await _post(http, f"{urls.identity}/_sandbox/faults", {"hang": True})
    with pytest.raises(asyncio.TimeoutError):
        await http.get(
            f"{urls.identity}/v1/users/user-1", headers=identity_headers, timeout=aiohttp.ClientTimeout(total=0.5)
        )


async def test_malformed_fault_returns_invalid_json(
    urls: SandboxUrls, http: aiohttp.ClientSession, identity_headers: dict[str, str]
) -> None:
    await _post(http, f"{urls.identity}/_sandbox/faults", {"malformed": True})
    async with http.get(f"{urls.identity}/v1/users?ids=user-1", headers=identity_headers) as response:
        assert response.status == 200
        with pytest.raises(json.JSONDecodeError):
            json.loads(await response.text())


async def test_reset_connection_fault_drops_the_connection(
    urls: SandboxUrls, http: aiohttp.ClientSession, identity_headers: dict[str, str]
) -> None:
    await _post(http, f"{urls.identity}/_sandbox/faults", {"reset_connection": True})
    with pytest.raises(aiohttp.ClientConnectionError):
        await http.get(f"{urls.identity}/v1/users/user-1", headers=identity_headers)


async def test_rate_limit_fault_answers_429_with_headers(
    urls: SandboxUrls, http: aiohttp.ClientSession, billing: Billing
) -> None:
    await _post(http, f"{urls.billing}/_sandbox/faults", {"rate_limit": {"limit": 2, "window_s": 60}})
    allowed = [await billing("GET", "/v1/customers?org_id=org-1") for _ in range(2)]
    assert [r.status for r in allowed] == [200, 200]
    assert allowed[1].headers["X-RateLimit-Remaining"] == "0"
    limited = await billing("GET", "/v1/customers?org_id=org-1")
    assert limited.status == 429
    assert 1 <= int(limited.headers["Retry-After"]) <= 60
    assert limited.headers["RateLimit-Policy"] == "2;w=60"
    assert limited.headers["RateLimit"].startswith("limit=2, remaining=0, reset=")
    assert limited.headers["X-RateLimit-Limit"] == "2"
    assert int(limited.headers["X-RateLimit-Reset"]) > time.time()
    assert (await limited.json())["error"]["type"] == "rate_limit_error"


async def test_route_restricted_fault_spares_other_routes_and_the_token_endpoint(
    urls: SandboxUrls, http: aiohttp.ClientSession, identity_headers: dict[str, str]
) -> None:
    await _post(http, f"{urls.identity}/_sandbox/faults", {"error_rate": 1.0, "routes": ["GET /v1/users"]})
    async with http.get(f"{urls.identity}/v1/users?ids=user-1", headers=identity_headers) as response:
        assert response.status == 503
    async with http.get(f"{urls.identity}/v1/users/user-1", headers=identity_headers) as response:
        assert response.status == 200
    await _post(http, f"{urls.identity}/_sandbox/faults", {"error_rate": 1.0})
    creds = CANARY_CREDENTIALS
    form = {
        "grant_type": "client_credentials",
        "client_id": creds.identity.client_id,
        "client_secret": creds.identity.client_secret,
    }
    async with http.post(f"{urls.identity}/oauth/token", data=form) as response:
        assert response.status == 200


async def test_invalid_faults_are_400_and_empty_object_clears(urls: SandboxUrls, http: aiohttp.ClientSession) -> None:
    base = f"{urls.identity}/_sandbox/faults"
    for body in ({"latency": 5}, {"error_rate": 2}, {"routes": ["GET /nope"]}, [1], {"rate_limit": {"limit": 1}}):
        status, payload = await _post(http, base, body)
        assert status == 400, body
        assert payload["error"]["message"]  # type: ignore[index]
    assert await _post(http, base, {"hang": True}) == (200, {"hang": True})
    assert await _post(http, base, {}) == (200, {})


async def test_openapi_documents_describe_the_rest_upstreams(urls: SandboxUrls, http: aiohttp.ClientSession) -> None:
    for base, path in (
        (urls.identity, "/v1/orgs/{id}/members"),
        (urls.billing, "/v1/invoices"),
        (urls.support, "/api/v2/organizations/{org_id}/tickets"),
        (urls.ledger, "/api/v2/invoices"),
    ):
        async with http.get(f"{base}/openapi.json") as response:
            document = await response.json()
        assert document["openapi"] == "3.1.0"
        assert path in document["paths"]
        assert document["servers"] == [{"url": base}]
        assert document["components"]["securitySchemes"]


async def test_each_openapi_document_describes_exactly_the_api_its_upstream_serves(
    urls: SandboxUrls, http: aiohttp.ClientSession
) -> None:
    described = 0
    for name, app in build_apps(CANARY_CREDENTIALS).items():
        async with http.get(f"{urls[name]}/openapi.json") as response:
            if response.status == 404:
                continue
            document = await response.json()
        documented = {f"{method.upper()} {path}" for path, item in document["paths"].items() for method in item}
        assert documented == api_routes(app), name
        described += 1
    assert described == 4


def test_fixed_window_limiter_resets_at_the_window_boundary() -> None:
    now = [100.25]
    limiter = FixedWindowLimiter(limit=2, window_s=1, clock=lambda: now[0])
    decisions = [limiter.hit() for _ in range(3)]
    assert [d.allowed for d in decisions] == [True, True, False]
    assert decisions[2].reset_epoch == 101
    assert limiter.policy == "2;w=1"
    now[0] = 101.0
    assert limiter.hit().allowed


async def test_stats_keep_the_trace_context_requests_carried(urls: SandboxUrls, http: aiohttp.ClientSession) -> None:
    traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    await _post(http, f"{urls.projects}/_sandbox/reset", {})
    async with http.post(f"{urls.projects}/graphql", json={"query": "{ __typename }"}) as response:
        assert response.status == 401  # refused, still counted
    assert "traceparents" not in await _stats(http, urls.projects)
    async with http.post(
        f"{urls.projects}/graphql", json={"query": "{ __typename }"}, headers={"traceparent": traceparent}
    ) as response:
        assert response.status == 401
    stats = await _stats(http, urls.projects)
    assert stats["traceparents"] == [{"route": "POST /graphql", "traceparent": traceparent}]
    await _post(http, f"{urls.projects}/_sandbox/reset", {})
    assert "traceparents" not in await _stats(http, urls.projects)
