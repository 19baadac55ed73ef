"""`mobius sandbox --unsigned-billing`: benchmark peers that cannot sign may omit the signature,
but the API key is still required and a signature that is sent must still verify."""

from __future__ import annotations

import time
from collections.abc import Iterator

import aiohttp
import pytest

from sandbox import SandboxCredentials, SandboxServer, SandboxUrls
from sandbox.billing import BillingCredentials
from sandbox.signing import billing_signature

RELAXED = SandboxCredentials(billing=BillingCredentials(signature_required=False))
INVOICES = "/v1/invoices?customer=cus_1&limit=2"


@pytest.fixture(scope="module")
def relaxed() -> Iterator[SandboxUrls]:
    with SandboxServer(credentials=RELAXED) as started:
        yield started


async def status(http: aiohttp.ClientSession, url: str, headers: dict[str, str]) -> int:
    async with http.get(url, headers=headers) as response:
        return response.status


async def test_unsigned_request_with_the_api_key_is_accepted(relaxed: SandboxUrls, http: aiohttp.ClientSession) -> None:
    key = {"Authorization": f"Bearer {RELAXED.billing.api_key}"}
    assert await status(http, f"{relaxed.billing}{INVOICES}", key) == 200


async def test_api_key_is_still_required(relaxed: SandboxUrls, http: aiohttp.ClientSession) -> None:
    assert await status(http, f"{relaxed.billing}{INVOICES}", {"Authorization": "Bearer sk_wrong"}) == 401
    assert await status(http, f"{relaxed.billing}{INVOICES}", {}) == 401


async def test_a_sent_signature_must_still_verify(relaxed: SandboxUrls, http: aiohttp.ClientSession) -> None:
    t = int(time.time())
    good = billing_signature(RELAXED.billing.signing_secret, t, "GET", INVOICES, b"")
    headers = {"Authorization": f"Bearer {RELAXED.billing.api_key}", "Mobius-Signature": f"t={t},v1={good}"}
    assert await status(http, f"{relaxed.billing}{INVOICES}", headers) == 200
    headers["Mobius-Signature"] = f"t={t},v1={'0' * 64}"
    assert await status(http, f"{relaxed.billing}{INVOICES}", headers) == 401


async def test_the_default_sandbox_still_requires_a_signature(urls: SandboxUrls, http: aiohttp.ClientSession) -> None:
    key = {"Authorization": f"Bearer {RELAXED.billing.api_key}"}
    assert await status(http, f"{urls.billing}{INVOICES}", key) == 401
