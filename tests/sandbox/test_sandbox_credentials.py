"""Credential admin faults: rotation with an overlap window, per-key-id stats, token lifetime,
a failing or hanging token endpoint, and the API key placements billing accepts."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp
import pytest
from canary import CANARY, CANARY_CREDENTIALS

from sandbox import SandboxUrls
from sandbox.keyring import RotatingSecret
from sandbox.signing import signature_header
from tests.clock import FakeClock

CREDS = CANARY_CREDENTIALS
CUSTOMERS = "/v1/customers?org_id=org-1"


async def post(http: aiohttp.ClientSession, url: str, body: object) -> tuple[int, dict[str, Any]]:
    async with http.post(url, json=body) as response:
        return response.status, await response.json()


async def credentials_stats(http: aiohttp.ClientSession, base: str) -> dict[str, Any]:
    async with http.get(f"{base}/_sandbox/stats") as response:
        stats: dict[str, Any] = (await response.json())["credentials"]
        return stats


async def billing_status(
    http: aiohttp.ClientSession,
    urls: SandboxUrls,
    *,
    key: str = CREDS.billing.api_key,
    secret: str = CREDS.billing.signing_secret,
    placement: str = "bearer",
) -> int:
    path = CUSTOMERS + (f"&api_key={key}" if placement == "query" else "")
    headers = {"Mobius-Signature": signature_header(secret, int(time.time()), "GET", path, b"")}
    if placement == "bearer":
        headers["Authorization"] = f"Bearer {key}"
    elif placement == "header":
        headers["X-Api-Key"] = key
    async with http.get(f"{urls.billing}{path}", headers=headers) as response:
        return response.status


async def token_status(http: aiohttp.ClientSession, urls: SandboxUrls, secret: str) -> int:
    form = {"grant_type": "client_credentials", "client_id": CREDS.identity.client_id, "client_secret": secret}
    async with http.post(f"{urls.identity}/oauth/token", data=form) as response:
        return response.status


async def test_a_rotated_api_key_with_an_overlap_accepts_both_until_the_overlap_ends(
    fresh_sandbox: SandboxUrls, http: aiohttp.ClientSession
) -> None:
    new = "R" + CREDS.billing.api_key
    status, body = await post(
        http, f"{fresh_sandbox.billing}/_sandbox/rotate", {"credential": "api_key", "value": new, "overlap_s": 60}
    )
    assert (status, body) == (200, {"credential": "api_key", "key_id": "k2", "previous": "k1", "overlap_s": 60})

    assert await billing_status(http, fresh_sandbox) == 200
    assert await billing_status(http, fresh_sandbox, key=new) == 200
    stats = await credentials_stats(http, fresh_sandbox.billing)
    assert stats["api_key"] == {"current": "k2", "active": ["k2", "k1"], "accepted": {"k1": 1, "k2": 1}, "rejected": 0}
    assert CANARY not in repr(stats)

    status, body = await post(http, f"{fresh_sandbox.billing}/_sandbox/end-overlap", {"credential": "api_key"})
    assert (status, body) == (200, {"credential": "api_key", "active": ["k2"]})
    assert await billing_status(http, fresh_sandbox) == 401
    assert await billing_status(http, fresh_sandbox, key=new) == 200


async def test_a_rotation_without_overlap_refuses_the_old_value_at_once_and_reset_restores_it(
    fresh_sandbox: SandboxUrls, http: aiohttp.ClientSession
) -> None:
    new = "R" + CREDS.billing.signing_secret
    await post(http, f"{fresh_sandbox.billing}/_sandbox/rotate", {"credential": "signing_secret", "value": new})

    assert await billing_status(http, fresh_sandbox) == 401
    assert await billing_status(http, fresh_sandbox, secret=new) == 200
    assert (await credentials_stats(http, fresh_sandbox.billing))["signing_secret"]["rejected"] == 1

    await post(http, f"{fresh_sandbox.billing}/_sandbox/reset", {})
    assert await billing_status(http, fresh_sandbox) == 200
    assert (await credentials_stats(http, fresh_sandbox.billing))["signing_secret"]["current"] == "k1"


async def test_the_client_secret_and_the_projects_token_rotate_too(
    fresh_sandbox: SandboxUrls, http: aiohttp.ClientSession
) -> None:
    new_secret = "R" + CREDS.identity.client_secret
    await post(http, f"{fresh_sandbox.identity}/_sandbox/rotate", {"credential": "client_secret", "value": new_secret})
    assert await token_status(http, fresh_sandbox, CREDS.identity.client_secret) == 401
    assert await token_status(http, fresh_sandbox, new_secret) == 200

    new_token = "R" + CREDS.projects.token
    await post(http, f"{fresh_sandbox.projects}/_sandbox/rotate", {"credential": "token", "value": new_token})
    for token, expected in ((CREDS.projects.token, 401), (new_token, 200)):
        headers = {"Authorization": f"Bearer {token}"}
        async with http.post(
            f"{fresh_sandbox.projects}/graphql", json={"query": "{ __typename }"}, headers=headers
        ) as response:
            assert response.status == expected
    stats = await credentials_stats(http, fresh_sandbox.projects)
    assert stats["token"]["accepted"] == {"k2": 1}

    for base in (fresh_sandbox.identity, fresh_sandbox.projects):
        await post(http, f"{base}/_sandbox/reset", {})
    assert await token_status(http, fresh_sandbox, CREDS.identity.client_secret) == 200


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ({"credential": "password", "value": "x"}, "this upstream has: api_key, signing_secret"),
        ({"credential": "api_key"}, "value"),
        ({"credential": "api_key", "value": ""}, "value"),
        ({"credential": "api_key", "value": "x", "overlap_s": -1}, "overlap_s"),
        ({"credential": "api_key", "value": "x", "extra": 1}, "extra"),
    ],
)
async def test_a_bad_rotation_is_refused_with_a_reason(
    urls: SandboxUrls, http: aiohttp.ClientSession, body: dict[str, Any], problem: str
) -> None:
    status, answer = await post(http, f"{urls.billing}/_sandbox/rotate", body)

    assert status == 400
    assert problem in answer["error"]["message"]


async def test_a_shortened_token_lifetime_applies_to_new_tokens_until_reset(
    fresh_sandbox: SandboxUrls, http: aiohttp.ClientSession
) -> None:
    assert await post(http, f"{fresh_sandbox.identity}/_sandbox/token-lifetime", {"seconds": 5}) == (
        200,
        {"ok": True, "token_lifetime_s": 5},
    )
    form = {
        "grant_type": "client_credentials",
        "client_id": CREDS.identity.client_id,
        "client_secret": CREDS.identity.client_secret,
    }
    async with http.post(f"{fresh_sandbox.identity}/oauth/token", data=form) as response:
        assert (await response.json())["expires_in"] == 5

    for bad in ({"seconds": 0}, {"seconds": "5"}, {"seconds": True}, {}):
        status, _ = await post(http, f"{fresh_sandbox.identity}/_sandbox/token-lifetime", bad)
        assert status == 400

    await post(http, f"{fresh_sandbox.identity}/_sandbox/reset", {})
    async with http.post(f"{fresh_sandbox.identity}/oauth/token", data=form) as response:
        assert (await response.json())["expires_in"] == CREDS.identity.token_lifetime_s


async def test_the_token_endpoint_can_be_made_to_fail_or_hang(urls: SandboxUrls, http: aiohttp.ClientSession) -> None:
    faults = f"{urls.identity}/_sandbox/faults"
    await post(http, faults, {"error_rate": 1.0, "status": 503, "routes": ["POST /oauth/token"]})
    assert await token_status(http, urls, CREDS.identity.client_secret) == 503

    await post(http, faults, {"hang": True, "routes": ["POST /oauth/token"]})
    with pytest.raises(asyncio.TimeoutError):
        async with asyncio.timeout(0.3):
            await token_status(http, urls, CREDS.identity.client_secret)


@pytest.mark.parametrize("placement", ["bearer", "header", "query"])
async def test_billing_takes_the_api_key_as_bearer_header_or_query(
    fresh_sandbox: SandboxUrls, http: aiohttp.ClientSession, placement: str
) -> None:
    assert await billing_status(http, fresh_sandbox, placement=placement) == 200
    assert await billing_status(http, fresh_sandbox, placement=placement, key="sk_wrong") == 401


def test_an_overlap_window_ends_by_the_sandbox_clock() -> None:
    clock = FakeClock(start=100)
    secret = RotatingSecret("old-value", clock)
    secret.rotate("new-value", overlap_s=30)

    assert secret.match("old-value") == "k1"
    clock.advance(30)
    assert secret.match("old-value") is None
    assert secret.match("new-value") == "k2"
    assert "old-value" not in repr(secret)
    assert "new-value" not in repr(secret)
