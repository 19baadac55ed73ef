"""OAuth2 client credentials against the sandbox identity token endpoint."""

from __future__ import annotations

import asyncio
import traceback
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from typing import Any, Literal

import pytest

from clients.errors import UpstreamAuthFailed
from clients.http import HttpUpstream
from clients.identity import IDENTITY, IdentityClient
from clients.oauth2 import OAuth2ClientCredentials
from clients.policy import UpstreamPolicy
from clients.rest import RestClient
from clients.secrets import StaticSecret
from clients.upstreams import Upstreams
from sandbox import SandboxCredentials, SandboxServer, SandboxUrls
from sandbox.identity import IdentityCredentials
from tests.clients.support import UNHURRIED, FakeClock, route_count, started, started_with

TOKEN = "POST /oauth/token"
USERS = "GET /v1/users"
WRONG_SECRET = "wrong-identity-secret-7f3a9c"


class IdentityParts:
    """An identity client assembled by hand so the token clock and client auth can be chosen."""

    def __init__(
        self,
        urls: SandboxUrls,
        credentials: SandboxCredentials,
        *,
        clock: FakeClock | None = None,
        client_auth: Literal["client_secret_basic", "client_secret_post"] = "client_secret_basic",
        secret: str | None = None,
    ) -> None:
        self.clock = clock or FakeClock()
        self.auth = OAuth2ClientCredentials(
            upstream="identity",
            token_url=f"{urls.identity}/oauth/token",
            client_id=credentials.identity.client_id,
            client_secret=StaticSecret(secret if secret is not None else credentials.identity.client_secret),
            client_auth=client_auth,
            refresh_ratio=0.8,
            clock=self.clock,
        )
        self.http = HttpUpstream(UpstreamPolicy(name="identity", base_url=urls.identity), self.auth)
        self.client = IdentityClient(RestClient(self.http))


@pytest.fixture
async def parts(sandbox: Any) -> AsyncIterator[IdentityParts]:
    built = IdentityParts(sandbox.urls, sandbox.credentials)
    await built.http.start()
    try:
        yield built
    finally:
        await built.http.close()


async def revoke_tokens(sandbox: Any) -> None:
    async with sandbox.http.post(f"{sandbox.urls.identity}/_sandbox/revoke-tokens") as response:
        assert response.status == 200


async def test_two_hundred_concurrent_calls_on_a_cold_cache_fetch_exactly_one_token(sandbox: Any) -> None:
    upstreams = await started_with(sandbox.urls, sandbox.credentials, identity=UNHURRIED)
    try:
        results = await asyncio.gather(*(upstreams[IDENTITY].users_by_ids([f"user-{n % 50 + 1}"]) for n in range(200)))
    finally:
        await upstreams.close()

    assert all(len(found) == 1 for found in results)
    assert await route_count(sandbox, "identity", TOKEN) == 1
    assert await route_count(sandbox, "identity", USERS) == 200


async def test_token_is_refreshed_once_the_clock_passes_refresh_ratio_of_its_lifetime(
    sandbox: Any, parts: IdentityParts
) -> None:
    lifetime = sandbox.credentials.identity.token_lifetime_s
    await parts.client.users_by_ids(["user-1"])
    assert await route_count(sandbox, "identity", TOKEN) == 1

    parts.clock.advance(0.8 * lifetime - 1)
    await parts.client.users_by_ids(["user-1"])
    assert await route_count(sandbox, "identity", TOKEN) == 1, "refreshed before refresh_ratio x lifetime"

    parts.clock.advance(2)
    await parts.client.users_by_ids(["user-1"])
    assert await route_count(sandbox, "identity", TOKEN) == 2
    # The refresh was proactive: no call was refused and replayed.
    assert await route_count(sandbox, "identity", USERS) == 3


async def test_after_the_sandbox_forgets_tokens_one_call_refreshes_once_and_replays_once(
    sandbox: Any, upstreams: Upstreams
) -> None:
    await upstreams[IDENTITY].users_by_ids(["user-1"])
    assert await route_count(sandbox, "identity", TOKEN) == 1
    assert await route_count(sandbox, "identity", USERS) == 1

    await revoke_tokens(sandbox)
    found = await upstreams[IDENTITY].users_by_ids(["user-2"])

    assert set(found) == {"user-2"}
    assert await route_count(sandbox, "identity", TOKEN) == 2
    assert await route_count(sandbox, "identity", USERS) == 3  # the refused call and its one replay


async def test_after_a_full_sandbox_reset_the_next_call_still_succeeds(sandbox: Any, upstreams: Upstreams) -> None:
    await upstreams[IDENTITY].users_by_ids(["user-1"])
    await sandbox.reset()  # forgets issued tokens and zeroes the counters

    assert set(await upstreams[IDENTITY].users_by_ids(["user-3"])) == {"user-3"}
    assert await route_count(sandbox, "identity", TOKEN) == 1
    assert await route_count(sandbox, "identity", USERS) == 2


async def test_a_burst_of_refused_calls_causes_one_refresh(sandbox: Any, upstreams: Upstreams) -> None:
    await upstreams[IDENTITY].users_by_ids(["user-1"])
    await revoke_tokens(sandbox)

    results = await asyncio.gather(*(upstreams[IDENTITY].users_by_ids([f"user-{n + 1}"]) for n in range(50)))

    assert [set(found) for found in results] == [{f"user-{n + 1}"} for n in range(50)]
    assert await route_count(sandbox, "identity", TOKEN) == 2
    assert await route_count(sandbox, "identity", USERS) == 1 + 50 * 2


async def test_wrong_client_secret_raises_auth_failed_without_leaking_the_secret(sandbox: Any) -> None:
    credentials = sandbox.credentials.replace(
        identity=replace(sandbox.credentials.identity, client_secret=WRONG_SECRET)
    )
    upstreams = await started(sandbox.urls, credentials)
    try:
        with pytest.raises(UpstreamAuthFailed) as caught:
            await upstreams[IDENTITY].users_by_ids(["user-1"])
    finally:
        await upstreams.close()

    error = caught.value
    assert error.code == "UPSTREAM_AUTH_FAILED"
    assert error.upstream == "identity"
    assert not error.retryable
    rendered = [str(error), repr(error), error.message, repr(error.args), "".join(traceback.format_exception(error))]
    assert all(WRONG_SECRET not in text for text in rendered)
    assert await route_count(sandbox, "identity", USERS) == 0, "no API call without a token"


async def test_client_secret_post_obtains_a_token(sandbox: Any) -> None:
    parts = IdentityParts(sandbox.urls, sandbox.credentials, client_auth="client_secret_post")
    await parts.http.start()
    try:
        found = await parts.client.users_by_ids(["user-1", "user-2"])
    finally:
        await parts.http.close()

    assert set(found) == {"user-1", "user-2"}
    assert await route_count(sandbox, "identity", TOKEN) == 1


async def test_client_secret_post_with_a_wrong_secret_raises_auth_failed(sandbox: Any) -> None:
    parts = IdentityParts(sandbox.urls, sandbox.credentials, client_auth="client_secret_post", secret=WRONG_SECRET)
    await parts.http.start()
    try:
        with pytest.raises(UpstreamAuthFailed) as caught:
            await parts.client.users_by_ids(["user-1"])
    finally:
        await parts.http.close()

    assert WRONG_SECRET not in repr(caught.value)


RESERVED_SECRET = "p:a/s+s%w&o=r?d"


@pytest.fixture(scope="module")
def reserved_sandbox() -> Iterator[tuple[SandboxUrls, SandboxCredentials]]:
    """A second sandbox whose client secret needs form-urlencoding in the Basic header."""
    credentials = SandboxCredentials(identity=IdentityCredentials(client_secret=RESERVED_SECRET))
    with SandboxServer(credentials=credentials) as urls:
        yield urls, credentials


@pytest.mark.parametrize("client_auth", ["client_secret_basic", "client_secret_post"])
async def test_a_client_secret_with_reserved_characters_is_accepted(
    reserved_sandbox: tuple[SandboxUrls, SandboxCredentials],
    client_auth: Literal["client_secret_basic", "client_secret_post"],
) -> None:
    urls, credentials = reserved_sandbox
    parts = IdentityParts(urls, credentials, client_auth=client_auth)
    await parts.http.start()
    try:
        found = await parts.client.users_by_ids(["user-1"])
    finally:
        await parts.http.close()

    assert set(found) == {"user-1"}
