"""A real sandbox on loopback for the whole session, plus small request helpers.

Tests that mutate data or read counters ask for `fresh_sandbox`; every test leaves no faults behind.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator

import aiohttp
import pytest
from canary import CANARY_CREDENTIALS

from sandbox import SandboxServer, SandboxUrls
from sandbox.signing import signature_header
from tests.sandbox.callers import LEDGER_AUTH, SUPPORT_AUTH, Call, caller

CREDENTIALS = CANARY_CREDENTIALS
BillingCall = Callable[..., Awaitable[aiohttp.ClientResponse]]


@pytest.fixture(scope="session")
def urls() -> Iterator[SandboxUrls]:
    with SandboxServer(credentials=CREDENTIALS) as started:
        yield started


@pytest.fixture(scope="session")
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
        yield session


@pytest.fixture(autouse=True)
async def _clear_faults(request: pytest.FixtureRequest) -> AsyncIterator[None]:
    yield
    if "urls" in request.fixturenames:
        sandbox: SandboxUrls = request.getfixturevalue("urls")
        session: aiohttp.ClientSession = request.getfixturevalue("http")
        for base in sandbox.values():
            async with session.post(f"{base}/_sandbox/faults", json={}) as response:
                assert response.status == 200


@pytest.fixture
async def fresh_sandbox(urls: SandboxUrls, http: aiohttp.ClientSession) -> SandboxUrls:
    for base in urls.values():
        async with http.post(f"{base}/_sandbox/reset") as response:
            assert await response.json() == {"ok": True}
    return urls


@pytest.fixture
async def identity_headers(urls: SandboxUrls, http: aiohttp.ClientSession) -> dict[str, str]:
    form = {
        "grant_type": "client_credentials",
        "client_id": CREDENTIALS.identity.client_id,
        "client_secret": CREDENTIALS.identity.client_secret,
    }
    async with http.post(f"{urls.identity}/oauth/token", data=form) as response:
        assert response.status == 200
        token = (await response.json())["access_token"]
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def billing(urls: SandboxUrls, http: aiohttp.ClientSession) -> BillingCall:
    """`await billing("GET", "/v1/invoices?customer=cus_1")`, authenticated and signed."""

    async def call(
        method: str, path_qs: str, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> aiohttp.ClientResponse:
        signed = {
            "Authorization": f"Bearer {CREDENTIALS.billing.api_key}",
            "Mobius-Signature": signature_header(
                CREDENTIALS.billing.signing_secret, int(time.time()), method, path_qs, body
            ),
            **(headers or {}),
        }
        response = await http.request(method, f"{urls.billing}{path_qs}", data=body, headers=signed)
        await response.read()
        return response

    return call


@pytest.fixture
def support(urls: SandboxUrls, http: aiohttp.ClientSession) -> Call:
    """`await support("GET", "/api/v2/tickets/1")` with the agent's Basic credentials."""
    return caller(http, urls.support, SUPPORT_AUTH)


@pytest.fixture
def ledger(urls: SandboxUrls, http: aiohttp.ClientSession) -> Call:
    """`await ledger("GET", "/api/v2/invoices?customer_id[is]=AC-00001")` with the API key as Basic user."""
    return caller(http, urls.ledger, LEDGER_AUTH)


@pytest.fixture
def projects_query(urls: SandboxUrls, http: aiohttp.ClientSession) -> Callable[..., Awaitable[dict[str, object]]]:
    """POST a GraphQL document with the projects token; returns the JSON body."""

    async def call(query: str, variables: dict[str, object] | None = None) -> dict[str, object]:
        headers = {"Authorization": f"Bearer {CREDENTIALS.projects.token}"}
        body = {"query": query, "variables": variables or {}}
        async with http.post(f"{urls.projects}/graphql", json=body, headers=headers) as response:
            assert response.status == 200
            result: dict[str, object] = await response.json()
            return result

    return call
