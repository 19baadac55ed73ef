"""The gateway's copy of the identity provider's keys: fetched at start, refetched when a token names
a key it does not know (a rotation), at most once per interval, shared by concurrent requests, and
kept when the provider cannot be reached. Each test has its own sandbox and gateway (rotations must
not leak into the shared ones) and moves the gateway's clock itself."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest
from canary import CANARY_CREDENTIALS
from clock import FakeClock
from harness import GatewayServer, Sandbox, gateway_settings, reset_sandbox
from jwt_support import Refusal, b64url, post_with

from mobius.auth.jwks import JwksUrl
from mobius.demo import sandbox_identity_provider
from sandbox import JWKS_PATH, SandboxCredentials, SandboxServer, SandboxUrls

MIN_INTERVAL_S = 10.0
CACHE_S = 300.0
VIEWER = "{ viewer { id } }"


@pytest.fixture(scope="module")
def provider_server() -> Iterator[tuple[SandboxUrls, SandboxCredentials]]:
    with SandboxServer(credentials=CANARY_CREDENTIALS) as urls:
        yield urls, CANARY_CREDENTIALS


@pytest.fixture
async def provider(provider_server: tuple[SandboxUrls, SandboxCredentials], http: aiohttp.ClientSession) -> Sandbox:
    urls, credentials = provider_server
    return await reset_sandbox(urls, credentials, http)


def jwt_settings(urls: SandboxUrls, **changes: Any) -> dict[str, Any]:
    auth = sandbox_identity_provider(urls)
    auth["jwt"] |= {"jwks_refresh_min_interval_s": MIN_INTERVAL_S, "jwks_cache_s": CACHE_S, **changes}
    return auth


@pytest.fixture
def verifying(
    provider_server: tuple[SandboxUrls, SandboxCredentials], provider: Sandbox, clock: FakeClock
) -> Iterator[GatewayServer]:
    """A gateway trusting the provider, started after the provider's counters were reset."""
    settings = gateway_settings(provider_server, auth=jwt_settings(provider_server[0]))
    with GatewayServer(settings, clock=clock) as server:
        yield server


async def jwks_fetches(provider: Sandbox) -> int:
    count: int = (await provider.stats("identity"))["routes"].get(f"GET {JWKS_PATH}", 0)
    return count


async def viewer_of(server: GatewayServer, http: aiohttp.ClientSession, token: str) -> Any:
    answer = await post_with(http, server.url, f"Bearer {token}", VIEWER)
    return answer if isinstance(answer, Refusal) else answer["data"]["viewer"]["id"]


async def eventually(condition: Any, what: str) -> None:
    """Wait for the gateway's background refresh (another thread), never for a TTL."""
    for _ in range(500):
        if await condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"within 5 s: {what}")


async def test_a_token_from_a_rotated_key_makes_the_gateway_refetch_once_and_accept_it(
    verifying: GatewayServer, provider: Sandbox, http: aiohttp.ClientSession, clock: FakeClock
) -> None:
    old = await provider.mint_token(sub="user-2")
    assert await viewer_of(verifying, http, old) == "user-2"
    assert await jwks_fetches(provider) == 1, "fetched once, at start"

    clock.advance(MIN_INTERVAL_S)
    await provider.admin("identity", "rotate-signing-key", {"keep_previous": False})
    new = await provider.mint_token(sub="user-3")
    answers = await asyncio.gather(*(viewer_of(verifying, http, new) for _ in range(20)))

    assert answers == ["user-3"] * 20
    assert await jwks_fetches(provider) == 2

    refused = await viewer_of(verifying, http, old)
    assert isinstance(refused, Refusal)
    assert (refused.status, "signing key is unknown" in refused.www_authenticate) == (401, True)
    assert await jwks_fetches(provider) == 2, "no second fetch within the interval"

    clock.advance(MIN_INTERVAL_S)
    assert isinstance(await viewer_of(verifying, http, old), Refusal)
    assert await jwks_fetches(provider) == 3, "one fetch once the interval has passed"


async def test_made_up_key_ids_cost_the_provider_one_fetch_per_interval(
    verifying: GatewayServer, provider: Sandbox, http: aiohttp.ClientSession, clock: FakeClock
) -> None:
    _, payload, signature = (await provider.mint_token()).split(".")
    forged = [
        f"{b64url(orjson.dumps({'alg': 'RS256', 'kid': f'made-up-{n}'}))}.{payload}.{signature}" for n in range(30)
    ]
    for _ in range(2):
        clock.advance(MIN_INTERVAL_S)
        refused = await asyncio.gather(*(viewer_of(verifying, http, token) for token in forged))
        assert all(isinstance(answer, Refusal) and answer.status == 401 for answer in refused)
    assert await jwks_fetches(provider) == 1 + 2


async def test_concurrent_refreshes_share_one_fetch(provider: Sandbox, clock: FakeClock) -> None:
    await provider.faults("identity", latency_ms=200, routes=[f"GET {JWKS_PATH}"])
    keys = JwksUrl(
        f"{provider.url('identity')}{JWKS_PATH}",
        cache_s=CACHE_S,
        min_refresh_interval_s=0,
        timeout_s=5,
        max_bytes=65536,
        clock=clock,
    )
    try:
        sets = await asyncio.gather(*(keys.after_unknown_key() for _ in range(50)))
    finally:
        await keys.close()
    assert len({id(key_set) for key_set in sets}) == 1
    assert await jwks_fetches(provider) == 1


async def test_keys_past_their_cache_time_are_refreshed_in_the_background(
    verifying: GatewayServer, provider: Sandbox, http: aiohttp.ClientSession, clock: FakeClock
) -> None:
    token = await provider.mint_token(sub="user-4")
    clock.advance(CACHE_S)

    assert await viewer_of(verifying, http, token) == "user-4", "answered with the keys it has"

    async def refetched() -> bool:
        return await jwks_fetches(provider) == 2

    await eventually(refetched, "a background refresh")


async def test_known_keys_keep_verifying_while_the_provider_is_down(
    verifying: GatewayServer, provider: Sandbox, http: aiohttp.ClientSession, clock: FakeClock
) -> None:
    token = await provider.mint_token(sub="user-5")
    await provider.faults("identity", error_rate=1.0, status=503, routes=[f"GET {JWKS_PATH}"])
    clock.advance(CACHE_S)

    assert await viewer_of(verifying, http, token) == "user-5"
    await provider.admin("identity", "rotate-signing-key", {"keep_previous": False})
    clock.advance(MIN_INTERVAL_S)
    refused = await viewer_of(verifying, http, await provider.mint_token())
    assert isinstance(refused, Refusal)
    assert refused.status == 401


async def test_without_any_keys_a_token_is_a_503_and_anonymous_requests_still_work(
    provider_server: tuple[SandboxUrls, SandboxCredentials],
    provider: Sandbox,
    http: aiohttp.ClientSession,
    clock: FakeClock,
) -> None:
    await provider.faults("identity", error_rate=1.0, status=503, routes=[f"GET {JWKS_PATH}"])
    settings = gateway_settings(provider_server, auth=jwt_settings(provider_server[0]))
    token = await provider.mint_token(sub="user-6")
    with GatewayServer(settings, clock=clock) as server:
        unverifiable = await viewer_of(server, http, token)
        assert isinstance(unverifiable, Refusal)
        assert unverifiable.status == 503
        assert "signing keys are unavailable" in unverifiable.body
        assert (await post_with(http, server.url, "", "{ __typename }"))["data"] == {"__typename": "Query"}

        await provider.faults("identity")
        assert isinstance(await viewer_of(server, http, token), Refusal), "not refetched within the interval"
        clock.advance(MIN_INTERVAL_S)
        assert await viewer_of(server, http, token) == "user-6"


async def test_keys_from_a_file_are_reread_when_it_changes(
    provider_server: tuple[SandboxUrls, SandboxCredentials],
    provider: Sandbox,
    http: aiohttp.ClientSession,
    tmp_path: Path,
) -> None:
    jwks_file = tmp_path / "jwks.json"

    async def publish() -> None:
        """Written beside and renamed over, as a mounted secret or config file is swapped."""
        async with http.get(f"{provider.url('identity')}{JWKS_PATH}") as response:
            (tmp_path / "next.json").write_bytes(await response.read())
        (tmp_path / "next.json").replace(jwks_file)

    await publish()
    auth = jwt_settings(provider_server[0])
    auth["jwt"] = {**auth["jwt"], "jwks_url": None, "jwks_file": str(jwks_file)}
    with GatewayServer(gateway_settings(provider_server, auth=auth)) as server:
        assert await viewer_of(server, http, await provider.mint_token(sub="user-7")) == "user-7"

        await provider.admin("identity", "rotate-signing-key", {"keep_previous": False})
        rotated = await provider.mint_token(sub="user-8")
        assert isinstance(await viewer_of(server, http, rotated), Refusal)
        await publish()
        assert await viewer_of(server, http, rotated) == "user-8"
