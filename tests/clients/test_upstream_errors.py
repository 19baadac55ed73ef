"""How upstream failures injected by the sandbox surface as the gateway's error tree."""

from __future__ import annotations

import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from graphql import parse

from clients.auth import NoAuth
from clients.billing import BILLING
from clients.errors import (
    RateLimited,
    TokenEndpointUnavailable,
    UpstreamAuthFailed,
    UpstreamError,
    UpstreamInvalidResponse,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from clients.graphql import GraphQLUpstream
from clients.http import HttpUpstream
from clients.identity import IDENTITY
from clients.policy import UpstreamPolicy
from clients.projects import PROJECTS_SLOT, ProjectsKey
from clients.upstreams import Upstreams
from sandbox import SandboxUrls
from tests.clients.support import route_count, started, started_with

Call = Callable[[Upstreams], Awaitable[object]]

CALLS: dict[str, Call] = {
    "identity": lambda up: up[IDENTITY].users_by_ids(["user-1"]),
    "billing": lambda up: up[BILLING].customer_for_org("org-1"),
    "projects": lambda up: up[PROJECTS_SLOT].projects_pages([ProjectsKey(org_id="org-1", first=5)]),
}
UPSTREAMS = sorted(CALLS)


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


async def call(upstream: str, upstreams: Upstreams) -> object:
    result = await CALLS[upstream](upstreams)
    if isinstance(result, list) and result and isinstance(result[0], UpstreamError):
        raise result[0]  # projects reports per-alias errors as values
    return result


@pytest.fixture
async def slow_read_upstreams(sandbox: Any) -> AsyncIterator[Upstreams]:
    short = {"timeouts": {"read_s": 0.3}}
    built = await started_with(sandbox.urls, sandbox.credentials, identity=short, billing=short, projects=short)
    try:
        yield built
    finally:
        await built.close()


@pytest.mark.parametrize("upstream", UPSTREAMS)
async def test_a_hanging_upstream_raises_timeout_soon_after_the_read_timeout(
    sandbox: Any, slow_read_upstreams: Upstreams, upstream: str
) -> None:
    await sandbox.faults(upstream, hang=True)

    started_at = time.monotonic()
    with pytest.raises(UpstreamTimeout) as caught:
        await call(upstream, slow_read_upstreams)
    elapsed = time.monotonic() - started_at

    assert elapsed < 3
    assert caught.value.code == "UPSTREAM_TIMEOUT"
    assert caught.value.upstream == upstream
    assert caught.value.retryable


@pytest.mark.parametrize("upstream", UPSTREAMS)
async def test_an_upstream_answering_503_raises_unavailable(sandbox: Any, upstreams: Upstreams, upstream: str) -> None:
    if upstream == "identity":
        await call(upstream, upstreams)  # a token first: the token endpoint is exempt from faults anyway
    await sandbox.faults(upstream, error_rate=1.0, status=503)

    with pytest.raises(UpstreamUnavailable) as caught:
        await call(upstream, upstreams)

    assert type(caught.value) is UpstreamUnavailable
    assert caught.value.code == "UPSTREAM_UNAVAILABLE"
    assert caught.value.retryable
    assert caught.value.upstream == upstream


@pytest.mark.parametrize(("upstream", "location"), [("identity", "GET /v1/users"), ("billing", "GET /v1/customers")])
async def test_a_truncated_rest_body_raises_invalid_response_naming_where(
    sandbox: Any, upstreams: Upstreams, upstream: str, location: str
) -> None:
    await sandbox.faults(upstream, malformed=True)

    with pytest.raises(UpstreamInvalidResponse) as caught:
        await call(upstream, upstreams)

    assert caught.value.code == "UPSTREAM_INVALID_RESPONSE"
    assert location in caught.value.message
    assert "invalid response at body" in caught.value.message
    assert not caught.value.retryable


async def test_a_truncated_graphql_body_raises_invalid_response(sandbox: Any, upstreams: Upstreams) -> None:
    await sandbox.faults("projects", malformed=True)

    with pytest.raises(UpstreamInvalidResponse) as caught:
        await call("projects", upstreams)

    assert caught.value.upstream == "projects"


@pytest.mark.parametrize("upstream", ["billing", "projects"])
async def test_connection_refused_raises_unavailable(sandbox: Any, upstream: str) -> None:
    urls = sandbox.urls
    dead = f"http://127.0.0.1:{closed_port()}"
    moved = SandboxUrls(urls, **{upstream: dead})
    built = await started(moved, sandbox.credentials)
    try:
        with pytest.raises(UpstreamUnavailable) as caught:
            await call(upstream, built)
    finally:
        await built.close()

    assert not isinstance(caught.value, UpstreamTimeout)
    assert caught.value.code == "UPSTREAM_UNAVAILABLE"
    assert caught.value.upstream == upstream


async def test_an_unreachable_token_endpoint_is_a_retryable_auth_failure_and_never_reaches_the_api(
    sandbox: Any,
) -> None:
    moved = SandboxUrls(sandbox.urls, identity=f"http://127.0.0.1:{closed_port()}")
    built = await started(moved, sandbox.credentials)
    try:
        with pytest.raises(UpstreamAuthFailed) as caught:
            await built[IDENTITY].users_by_ids(["user-1"])
    finally:
        await built.close()

    assert isinstance(caught.value, TokenEndpointUnavailable)
    assert caught.value.code == "UPSTREAM_AUTH_FAILED"
    assert caught.value.retryable
    assert "unreachable" in caught.value.message
    assert await route_count(sandbox, "identity", "GET /v1/users") == 0


async def test_members_of_an_unknown_org_are_none(sandbox: Any, upstreams: Upstreams) -> None:
    assert await upstreams[IDENTITY].members("org-does-not-exist", limit=10, cursor=None) is None

    page = await upstreams[IDENTITY].members("org-1", limit=10, cursor=None)
    assert page is not None
    assert len(page.data) == 10
    assert page.next_cursor is not None


@pytest.fixture
async def no_waiting_upstreams(sandbox: Any) -> AsyncIterator[Upstreams]:
    """Upstreams that never wait out a Retry-After (the sandbox's window may end within the
    default wait), so a 429 reaches the caller after exactly one request."""
    no_wait = {"resilience": {"retry": {"max_retry_after_s": 0}}}
    built = await started_with(sandbox.urls, sandbox.credentials, identity=no_wait, billing=no_wait, projects=no_wait)
    try:
        yield built
    finally:
        await built.close()


@pytest.mark.parametrize("upstream", ["identity", "billing"])
async def test_a_rate_limited_rest_call_raises_rate_limited_with_retry_after(
    sandbox: Any, no_waiting_upstreams: Upstreams, upstream: str
) -> None:
    await sandbox.faults(upstream, rate_limit={"limit": 0, "window_s": 60})

    with pytest.raises(RateLimited) as caught:
        await call(upstream, no_waiting_upstreams)

    assert caught.value.code == "RATE_LIMITED"
    assert caught.value.retry_after_s is not None
    assert 1 <= caught.value.retry_after_s <= 60
    assert await route_count(sandbox, upstream, "GET /v1/users" if upstream == "identity" else "GET /v1/customers") == 1


async def test_a_rate_limited_graphql_call_raises_rate_limited_with_retry_after(
    sandbox: Any, no_waiting_upstreams: Upstreams
) -> None:
    await sandbox.faults("projects", rate_limit={"limit": 0, "window_s": 60})

    with pytest.raises(RateLimited) as caught:
        await call("projects", no_waiting_upstreams)

    assert caught.value.retry_after_s is not None


async def test_a_graphql_document_before_start_is_unavailable_and_never_sent(sandbox: Any) -> None:
    http = HttpUpstream(UpstreamPolicy(name="projects", base_url=sandbox.urls.projects), NoAuth())
    graphql = GraphQLUpstream(http)
    before = await route_count(sandbox, "projects", "POST /graphql")

    with pytest.raises(UpstreamUnavailable, match="not started"):
        await graphql.execute(parse("{ __typename }"))

    assert not graphql.started
    assert http.pipeline.last_error is None, "it reached the resilience pipeline"
    assert await route_count(sandbox, "projects", "POST /graphql") == before
