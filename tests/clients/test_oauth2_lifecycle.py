"""The OAuth2 token lifecycle against the sandbox's token endpoint: failures, refresh, scope."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from typing import Any

import pytest
from canary import CANARY, CANARY_CREDENTIALS

from clients.errors import TokenEndpointUnavailable, UpstreamAuthFailed
from clients.http import HttpUpstream
from clients.identity import IdentityClient
from clients.oauth2 import OAuth2ClientCredentials
from clients.policy import TimeoutPolicy, UpstreamPolicy
from clients.rest import RestClient
from clients.secrets import StaticSecret
from sandbox import SandboxCredentials, SandboxServer, SandboxUrls
from tests.clients.support import route_count
from tests.clock import FakeClock

TOKEN = "POST /oauth/token"
USERS = "GET /v1/users"


class Identity:
    """An identity client with its own token cache, clock and timeouts."""

    def __init__(
        self,
        urls: SandboxUrls,
        credentials: SandboxCredentials,
        *,
        clock: FakeClock | None = None,
        scope: str | None = None,
        audience: str | None = None,
        read_timeout_s: float = 5.0,
    ) -> None:
        self.clock = clock or FakeClock()
        self.auth = OAuth2ClientCredentials(
            upstream="identity",
            token_url=f"{urls.identity}/oauth/token",
            client_id=credentials.identity.client_id,
            client_secret=StaticSecret(credentials.identity.client_secret),
            scope=scope,
            audience=audience,
            clock=self.clock,
        )
        # The token request is bounded by the read timeout, the whole API attempt by the total.
        timeouts = TimeoutPolicy(
            connect_timeout_s=1.0, read_timeout_s=read_timeout_s, total_timeout_s=read_timeout_s + 1
        )
        self.http = HttpUpstream(UpstreamPolicy(name="identity", base_url=urls.identity, timeouts=timeouts), self.auth)
        self.client = IdentityClient(RestClient(self.http))

    async def __aenter__(self) -> Identity:
        await self.http.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.http.close()


@pytest.fixture
async def identity(sandbox: Any) -> AsyncIterator[Identity]:
    async with Identity(sandbox.urls, sandbox.credentials) as built:
        yield built


TOKEN_FAULTS = {
    "5xx": {"error_rate": 1.0, "status": 503},
    "429": {"rate_limit": {"limit": 0, "window_s": 60}},
    "garbage": {"malformed": True},
}


@pytest.mark.parametrize("fault", sorted(TOKEN_FAULTS))
async def test_a_failing_token_endpoint_is_a_retryable_auth_failure_shared_by_all_waiters(
    sandbox: Any, identity: Identity, fault: str
) -> None:
    await sandbox.faults("identity", routes=[TOKEN], **TOKEN_FAULTS[fault])

    results = await asyncio.gather(
        *(identity.client.users_by_ids([f"user-{n % 50 + 1}"]) for n in range(200)), return_exceptions=True
    )

    assert all(isinstance(result, TokenEndpointUnavailable) for result in results)
    error = results[0]
    assert isinstance(error, TokenEndpointUnavailable)
    assert (error.code, error.upstream, error.retryable) == ("UPSTREAM_AUTH_FAILED", "identity", True)
    assert CANARY not in str(error)
    assert await route_count(sandbox, "identity", TOKEN) == 1, "one fetch, its failure shared"
    assert await route_count(sandbox, "identity", USERS) == 0


async def test_a_hanging_token_endpoint_is_cut_off_by_the_upstreams_read_timeout(sandbox: Any) -> None:
    await sandbox.faults("identity", routes=[TOKEN], hang=True)
    async with Identity(sandbox.urls, sandbox.credentials, read_timeout_s=0.3) as identity:
        results = await asyncio.gather(
            *(identity.client.users_by_ids(["user-1"]) for _ in range(20)), return_exceptions=True
        )

    assert all(isinstance(result, TokenEndpointUnavailable) for result in results)
    assert "did not answer in time" in str(results[0])
    assert await route_count(sandbox, "identity", TOKEN) == 1


async def test_a_failed_fetch_is_remembered_for_its_cool_down_then_tried_again(
    sandbox: Any, identity: Identity
) -> None:
    await sandbox.faults("identity", routes=[TOKEN], error_rate=1.0, status=503)
    with pytest.raises(TokenEndpointUnavailable):
        await identity.client.users_by_ids(["user-1"])
    await sandbox.faults("identity")

    identity.clock.advance(0.5)
    with pytest.raises(TokenEndpointUnavailable):
        await identity.client.users_by_ids(["user-1"])
    assert await route_count(sandbox, "identity", TOKEN) == 1, "inside the cool-down: no new token request"

    identity.clock.advance(0.5)
    assert set(await identity.client.users_by_ids(["user-1"])) == {"user-1"}
    assert await route_count(sandbox, "identity", TOKEN) == 2


async def test_a_token_due_for_refresh_is_still_used_while_the_endpoint_fails_until_it_expires(
    sandbox: Any, identity: Identity
) -> None:
    lifetime = sandbox.credentials.identity.token_lifetime_s
    await identity.client.users_by_ids(["user-1"])
    await sandbox.faults("identity", routes=[TOKEN], error_rate=1.0, status=503)

    identity.clock.advance(0.8 * lifetime + 1)
    assert set(await identity.client.users_by_ids(["user-2"])) == {"user-2"}
    assert await route_count(sandbox, "identity", TOKEN) == 2  # the refresh was tried

    identity.clock.advance(0.2 * lifetime)
    with pytest.raises(TokenEndpointUnavailable):
        await identity.client.users_by_ids(["user-3"])


async def test_a_shortened_token_lifetime_moves_the_refresh_point(sandbox: Any, identity: Identity) -> None:
    assert (await sandbox.admin("identity", "token-lifetime", {"seconds": 10}))["token_lifetime_s"] == 10
    await identity.client.users_by_ids(["user-1"])

    identity.clock.advance(7)
    await identity.client.users_by_ids(["user-1"])
    assert await route_count(sandbox, "identity", TOKEN) == 1

    identity.clock.advance(2)
    await identity.client.users_by_ids(["user-1"])
    assert await route_count(sandbox, "identity", TOKEN) == 2
    assert await route_count(sandbox, "identity", USERS) == 3, "refreshed before use, nothing refused"


@pytest.fixture(scope="module")
def strict_sandbox() -> Iterator[tuple[SandboxUrls, SandboxCredentials]]:
    """A sandbox whose token endpoint requires an audience and limits scopes."""
    identity = replace(
        CANARY_CREDENTIALS.identity, audience="https://identity.example", scopes=frozenset({"users:read"})
    )
    credentials = CANARY_CREDENTIALS.replace(identity=identity)
    with SandboxServer(credentials=credentials) as urls:
        yield urls, credentials


@pytest.mark.parametrize(
    ("scope", "audience", "granted"),
    [
        ("users:read", "https://identity.example", True),
        (None, "https://identity.example", True),
        ("users:read", None, False),
        ("users:read", "https://elsewhere.example", False),
        ("users:read admin", "https://identity.example", False),
    ],
)
async def test_scope_and_audience_from_config_reach_the_token_endpoint(
    strict_sandbox: tuple[SandboxUrls, SandboxCredentials], scope: str | None, audience: str | None, granted: bool
) -> None:
    urls, credentials = strict_sandbox
    async with Identity(urls, credentials, scope=scope, audience=audience) as identity:
        if granted:
            assert set(await identity.client.users_by_ids(["user-1"])) == {"user-1"}
        else:
            with pytest.raises(UpstreamAuthFailed) as caught:
                await identity.client.users_by_ids(["user-1"])
            assert not caught.value.retryable
            assert "refused the client (400)" in caught.value.message


async def test_the_token_and_the_client_secret_never_show_in_reprs(sandbox: Any, identity: Identity) -> None:
    await identity.client.users_by_ids(["user-1"])
    token = await identity.auth.request_token()

    assert token.value not in repr(token)
    rendered = repr(identity.auth) + str(identity.auth) + repr(vars(identity.auth))
    assert CANARY not in rendered
    assert token.value not in repr(identity.auth)
