"""Upstream credentials end to end: GraphQL over HTTP to a real gateway, the real sandbox behind it.

Every test starts its own gateway, so its token cache is cold and its clock and files are its own.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import orjson
import pytest
from canary import CANARY
from harness import ADMIN_HEADERS, DASHBOARD_QUERY, Gateway, GatewayServer, Sandbox, free_port

from clients.resilience.clock import TimeSource
from mobius.settings import Settings
from mobius.upstreams import build_upstreams
from tests.clients.support import route_count, settings_with
from tests.clock import FakeClock

TOKEN = "POST /oauth/token"
USER = "GET /v1/users/{id}"
USERS = "GET /v1/users"
USER_QUERY = 'query { user(id: "user-1") { id name } }'
SMALL_ORG = {"orgId": "org-3"}
"""The dashboard of a small org (14 members, 2 projects, 7 issues, a subscription): the same document
touching all three upstreams, light enough that 200 of them at once stay quick on a shared machine."""

PATIENT = {
    "timeouts": {"connect_s": 60.0, "read_s": 60.0, "total_s": 60.0},
    "resilience": {"bulkhead": {"max_concurrent": 1000, "max_queue": 1000, "max_wait_s": 60.0}},
}
"""For the load tests: they are about credentials, not latency or load shedding, and the machine may
be busy (aiohttp counts waiting for a pooled connection against the connect timeout)."""

StartGateway = Callable[..., Any]


@pytest.fixture
def start_gateway(sandbox: Sandbox) -> StartGateway:
    """``async with start_gateway(identity={...}) as gateway``: a fresh gateway on its own settings."""

    @asynccontextmanager
    async def start(*, clock: FakeClock | None = None, **changes: dict[str, Any]) -> AsyncIterator[Gateway]:
        settings: Settings = settings_with(sandbox.urls, sandbox.credentials, **changes)
        upstreams = build_upstreams(settings, time=TimeSource(monotonic=clock)) if clock is not None else None
        with GatewayServer(settings, upstreams=upstreams) as server:
            yield Gateway(url=server.url, http=sandbox.http)

    return start


async def raw_query(gateway: Gateway, query: str, variables: dict[str, Any] | None = None) -> tuple[bytes, Any]:
    """The response body as sent (to search it for the canary) and parsed."""
    payload = {"query": query, "variables": variables or {}}
    async with gateway.http.post(f"{gateway.url}/graphql", json=payload, headers=ADMIN_HEADERS) as response:
        assert response.status == 200
        body = await response.read()
        return body, orjson.loads(body)


async def test_two_hundred_concurrent_dashboards_on_a_cold_token_cache_fetch_exactly_one_token(
    sandbox: Sandbox, start_gateway: StartGateway
) -> None:
    # Without the response cache (settings_with), so every dashboard needs the token for its API calls.
    async with start_gateway(identity=PATIENT, billing=PATIENT, projects=PATIENT) as gateway:
        results = await asyncio.gather(*(gateway.query(DASHBOARD_QUERY, SMALL_ORG) for _ in range(200)))
    counts = await sandbox.api_requests()

    assert [error["extensions"] for result in results for error in result.get("errors", [])] == []
    assert all(result["data"]["organization"]["billing"] is not None for result in results)
    assert all(result["data"]["organization"]["projects"]["nodes"] for result in results)
    assert min(counts[name] for name in ("identity", "billing", "projects")) >= 200, "every dashboard reached each"
    print(f"200 cold dashboards: token requests 1, API requests {counts}")
    assert await route_count(sandbox, "identity", TOKEN) == 1
    identity = await sandbox.stats("identity")
    assert identity["credentials"]["client_secret"]["accepted"] == {"k1": 1}


async def test_a_token_near_expiry_is_refreshed_before_use(sandbox: Sandbox, start_gateway: StartGateway) -> None:
    clock = FakeClock()
    lifetime = sandbox.credentials.identity.token_lifetime_s
    async with start_gateway(clock=clock) as gateway:
        await gateway.query(USER_QUERY)
        clock.advance(0.8 * lifetime - 1)
        await gateway.query(USER_QUERY)
        tokens_before_refresh_point = await route_count(sandbox, "identity", TOKEN)
        clock.advance(2)
        result = await gateway.query(USER_QUERY)

    assert result["data"]["user"]["id"] == "user-1"
    assert tokens_before_refresh_point == 1
    assert await route_count(sandbox, "identity", TOKEN) == 2
    assert await route_count(sandbox, "identity", USER) + await route_count(sandbox, "identity", USERS) == 3, (
        "no request was refused: the refresh happened before use"
    )


async def test_after_a_revoke_the_next_query_succeeds_with_one_extra_token_request_and_one_replay(
    sandbox: Sandbox, start_gateway: StartGateway
) -> None:
    async with start_gateway() as gateway:
        await gateway.query(USER_QUERY)
        before = await sandbox.api_requests()
        await sandbox.admin("identity", "revoke-tokens")
        result = await gateway.query(USER_QUERY)
        after = await sandbox.api_requests()

    assert "errors" not in result
    assert result["data"]["user"]["id"] == "user-1"
    assert await route_count(sandbox, "identity", TOKEN) == 2
    assert after["identity"] - before["identity"] == 2, "the refused request and its one replay"


async def test_after_a_revoke_a_dashboard_succeeds_with_one_extra_token_request(
    sandbox: Sandbox, start_gateway: StartGateway
) -> None:
    async with start_gateway() as gateway:
        await gateway.query(DASHBOARD_QUERY, {"orgId": "org-1"})
        before = await sandbox.api_requests()
        await sandbox.admin("identity", "revoke-tokens")
        result = await gateway.query(DASHBOARD_QUERY, {"orgId": "org-1"})
        after = await sandbox.api_requests()

    assert "errors" not in result
    assert await route_count(sandbox, "identity", TOKEN) == 2
    assert after["identity"] - before["identity"] == 5, (
        "3 identity calls; the organization and its members go out together, both are refused and replayed once"
    )


TOKEN_FAULTS: dict[str, dict[str, Any]] = {
    "5xx": {"error_rate": 1.0, "status": 502},
    "429": {"rate_limit": {"limit": 0, "window_s": 10**9}},  # resets in years: a Retry-After never waited out
    "garbage": {"malformed": True},
    "hang": {"hang": True},
}


@pytest.mark.parametrize("fault", sorted(TOKEN_FAULTS))
async def test_a_failing_token_endpoint_surfaces_as_upstream_auth_failed(
    sandbox: Sandbox, start_gateway: StartGateway, fault: str
) -> None:
    await sandbox.faults("identity", routes=[TOKEN], **TOKEN_FAULTS[fault])
    async with start_gateway(identity={"timeouts": {"read_s": 0.3, "total_s": 1.0}}) as gateway:
        body, result = await raw_query(gateway, USER_QUERY)

    assert result["data"] == {"user": None}
    [error] = result["errors"]
    extensions = error["extensions"]
    assert (extensions["code"], extensions["upstream"]) == ("UPSTREAM_AUTH_FAILED", "identity")
    assert ("retryAfter" in extensions) == (fault == "429"), "the token endpoint's Retry-After is passed on"
    assert error["message"].startswith("identity: token endpoint")
    assert CANARY.encode() not in body
    retried = {"5xx": 3, "429": 1, "garbage": 1, "hang": 3}[fault]
    assert await route_count(sandbox, "identity", TOKEN) == retried, "the token request's own retry policy"
    assert await route_count(sandbox, "identity", USER) == 0


async def test_an_unreachable_token_endpoint_surfaces_as_upstream_auth_failed(
    sandbox: Sandbox, start_gateway: StartGateway
) -> None:
    token_url = f"http://127.0.0.1:{free_port()}/oauth/token"
    async with start_gateway(identity={"auth": {"token_url": token_url}}) as gateway:
        body, result = await raw_query(gateway, DASHBOARD_QUERY, {"orgId": "org-1"})

    assert result["data"]["organization"] is None
    assert {error["extensions"]["code"] for error in result["errors"]} == {"UPSTREAM_AUTH_FAILED"}
    assert "unreachable" in result["errors"][0]["message"]
    assert CANARY.encode() not in body


async def test_refused_credentials_surface_as_upstream_auth_failed_without_the_secret(
    sandbox: Sandbox, start_gateway: StartGateway
) -> None:
    await sandbox.rotate("billing", "api_key", "R" + sandbox.credentials.billing.api_key)
    await sandbox.rotate("identity", "client_secret", "R" + sandbox.credentials.identity.client_secret)
    async with start_gateway() as gateway:
        body, result = await raw_query(gateway, DASHBOARD_QUERY, {"orgId": "org-1"})

    assert result["data"]["organization"] is None
    codes = {(error["extensions"]["code"], error["extensions"]["upstream"]) for error in result["errors"]}
    assert codes == {("UPSTREAM_AUTH_FAILED", "identity")}
    assert CANARY.encode() not in body


async def test_rotating_the_billing_key_file_while_fifty_queries_run(
    sandbox: Sandbox, start_gateway: StartGateway, tmp_path: Path
) -> None:
    key_file = tmp_path / "billing_api_key"
    old = sandbox.credentials.billing.api_key
    new = "R" + old
    key_file.write_text(old, encoding="utf-8")
    await sandbox.faults("billing", latency_ms=20)  # keep the first half in flight across the rewrite
    billing = {**PATIENT, "auth": {"api_key": {"value": None, "file": str(key_file)}}}
    async with start_gateway(identity=PATIENT, billing=billing, projects=PATIENT) as gateway:
        await sandbox.rotate("billing", "api_key", new, overlap_s=300)
        first = [asyncio.create_task(gateway.query(DASHBOARD_QUERY, SMALL_ORG)) for _ in range(25)]
        await asyncio.wait(first, return_when=asyncio.FIRST_COMPLETED)  # the rest are still in flight
        key_file.write_text(new + "\n", encoding="utf-8")
        second = [asyncio.create_task(gateway.query(DASHBOARD_QUERY, SMALL_ORG)) for _ in range(25)]
        results = await asyncio.gather(*first, *second)
        during = await sandbox.key_stats("billing", "api_key")

        await sandbox.admin("billing", "end-overlap", {"credential": "api_key"})
        later = await asyncio.gather(*(gateway.query(DASHBOARD_QUERY, SMALL_ORG) for _ in range(10)))
        after = await sandbox.key_stats("billing", "api_key")

    assert all("errors" not in result for result in [*results, *later])
    assert during["rejected"] == 0
    assert during["accepted"]["k1"] >= 3, "the old key served the requests before the rewrite"
    assert during["accepted"]["k1"] + during["accepted"]["k2"] == 50 * 3
    assert after["accepted"]["k1"] == during["accepted"]["k1"], "the old key is not used after the reload"
    assert after["accepted"]["k2"] == during["accepted"]["k2"] + 10 * 3
    print(f"rotation under load: old key {during['accepted']['k1']}, new key {during['accepted']['k2']} requests")
