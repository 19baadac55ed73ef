"""Billing's API key plus HMAC request signatures, verified by the real sandbox."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import pytest

import clients.http
from clients.auth import HeaderAuth, HmacSignedAuth, hmac_signature
from clients.billing import BILLING, BillingClient
from clients.errors import UpstreamAuthFailed
from clients.http import HttpUpstream
from clients.messages import OutgoingRequest, RawResponse
from clients.policy import UpstreamPolicy
from clients.rest import RestClient
from clients.secrets import StaticSecret
from clients.upstreams import Upstreams
from sandbox.signing import billing_signature, parse_signature_header
from tests.clients.support import route_count, started

CUSTOMERS = "GET /v1/customers"


@dataclass
class Sent:
    method: str
    path_qs: str
    body: bytes
    headers: dict[str, str]


Used = tuple[str, str, int]


@dataclass
class RecordingAuth:
    """Wraps an auth and keeps a copy of every request it lets out."""

    inner: HmacSignedAuth
    sent: list[Sent] = field(default_factory=list)

    def _record(self, request: OutgoingRequest) -> None:
        self.sent.append(Sent(request.method, request.path_qs, request.body, dict(request.headers)))

    def apply(self, request: OutgoingRequest) -> Used:
        used = self.inner.apply(request)
        self._record(request)
        return used

    async def prepare(self, request: OutgoingRequest) -> Used:
        return self.apply(request)

    async def refused(self, request: OutgoingRequest, response: RawResponse, used: Used) -> bool:
        replay = await self.inner.refused(request, response, used)
        if replay:
            self._record(request)
        return replay


def scripted_clock(*values: float) -> Iterator[float]:
    return iter(values)


def billing_parts(sandbox: Any, *, clock: Any) -> tuple[BillingClient, RecordingAuth, HttpUpstream]:
    credentials = sandbox.credentials
    signed = HmacSignedAuth(
        HeaderAuth(StaticSecret(credentials.billing.api_key)),
        StaticSecret(credentials.billing.signing_secret),
        clock=clock,
    )
    recording = RecordingAuth(signed)
    http = HttpUpstream(UpstreamPolicy(name="billing", base_url=sandbox.urls.billing), recording)
    return BillingClient(RestClient(http)), recording, http


@pytest.fixture
async def wrong_signing_upstreams(sandbox: Any) -> AsyncIterator[Upstreams]:
    credentials = sandbox.credentials.replace(
        billing=replace(sandbox.credentials.billing, signing_secret="not-the-signing-secret")
    )
    built = await started(sandbox.urls, credentials)
    try:
        yield built
    finally:
        await built.close()


async def test_signed_billing_requests_are_accepted(sandbox: Any, upstreams: Upstreams) -> None:
    customer = await upstreams[BILLING].customer_for_org("org-1")
    assert customer is not None
    assert customer.org_id == "org-1"

    subscription = await upstreams[BILLING].subscription_for_customer(customer.id)
    invoices = await upstreams[BILLING].invoices(customer.id, limit=5, status=None)
    assert subscription is None or subscription.customer == customer.id
    assert all(invoice.customer == customer.id for invoice in invoices)


async def test_a_signed_post_with_an_idempotency_key_is_accepted(sandbox: Any, upstreams: Upstreams) -> None:
    customer = await upstreams[BILLING].customer_for_org("org-1")
    assert customer is not None
    open_invoices = await upstreams[BILLING].invoices(customer.id, limit=1, status="open")
    if not open_invoices:
        pytest.skip("the seed gives org-1 no open invoice")

    paid = await upstreams[BILLING].pay_invoice(open_invoices[0].id, idempotency_key="key-1")

    assert paid.status == "paid"


async def test_a_wrong_signing_secret_is_rejected(sandbox: Any, wrong_signing_upstreams: Upstreams) -> None:
    with pytest.raises(UpstreamAuthFailed) as caught:
        await wrong_signing_upstreams[BILLING].customer_for_org("org-1")

    assert caught.value.code == "UPSTREAM_AUTH_FAILED"
    assert caught.value.upstream == "billing"
    assert "not-the-signing-secret" not in repr(caught.value)
    assert await route_count(sandbox, "billing", CUSTOMERS) == 1


async def test_a_wrong_api_key_is_rejected(sandbox: Any) -> None:
    built = await started(
        sandbox.urls, sandbox.credentials.replace(billing=replace(sandbox.credentials.billing, api_key="sk_wrong"))
    )
    try:
        with pytest.raises(UpstreamAuthFailed):
            await built[BILLING].customer_for_org("org-1")
    finally:
        await built.close()


async def test_sends_at_different_timestamps_carry_different_signatures_and_both_are_accepted(
    sandbox: Any,
) -> None:
    now = int(time.time())
    ticks = scripted_clock(now, now + 7)
    client, recording, http = billing_parts(sandbox, clock=lambda: next(ticks))
    await http.start()
    try:
        first = await client.customer_for_org("org-1")
        second = await client.customer_for_org("org-1")
    finally:
        await http.close()

    assert first is not None
    assert first == second
    assert len(recording.sent) == 2
    parsed = [parse_signature_header(sent.headers["Mobius-Signature"]) for sent in recording.sent]
    assert parsed[0] is not None
    assert parsed[1] is not None
    (t1, [sig1]), (t2, [sig2]) = parsed
    assert (t1, t2) == (now, now + 7)
    assert sig1 != sig2
    secret = sandbox.credentials.billing.signing_secret
    for sent, (t, [sig]) in zip(recording.sent, parsed, strict=True):
        assert sig == billing_signature(secret, t, sent.method, sent.path_qs, sent.body)
    assert await route_count(sandbox, "billing", CUSTOMERS) == 2


async def test_a_stale_timestamp_is_refused_then_resigned_once_with_the_upstreams_clock(sandbox: Any) -> None:
    skewed = int(time.time()) - 3600
    client, recording, http = billing_parts(sandbox, clock=lambda: skewed)
    await http.start()
    try:
        first = await client.customer_for_org("org-1")
        second = await client.customer_for_org("org-1")
    finally:
        await http.close()

    assert first is not None
    assert first == second
    stamps = [parse_signature_header(sent.headers["Mobius-Signature"]) for sent in recording.sent]
    timestamps = [parsed[0] for parsed in stamps if parsed is not None]
    assert len(timestamps) == 3, "refused once, re-signed once, then the learned offset is kept"
    assert timestamps[0] == skewed
    assert all(abs(t - time.time()) < 120 for t in timestamps[1:])
    assert await route_count(sandbox, "billing", CUSTOMERS) == 3


async def test_a_stale_timestamp_without_a_date_to_learn_from_is_refused(sandbox: Any) -> None:
    signed = HmacSignedAuth(
        HeaderAuth(StaticSecret(sandbox.credentials.billing.api_key)),
        StaticSecret(sandbox.credentials.billing.signing_secret),
        clock=lambda: time.time() - 3600,
    )
    request = OutgoingRequest(method="GET", path_qs="/v1/customers?org_id=org-1")
    used = signed.apply(request)

    assert not await signed.refused(request, RawResponse(status=401, headers={}, body=b""), used)


@pytest.mark.parametrize(
    ("method", "path_qs", "body"),
    [
        ("GET", "/v1/customers?org_id=org-1", b""),
        ("GET", "/v1/invoices?customer=cus_1&limit=5&status=open", b""),
        ("POST", "/v1/invoices/in_1/pay", b'{"amount":100,"note":"caf\xc3\xa9"}'),
        ("PATCH", "/", b"\x00\x01binary"),
    ],
)
def test_hmac_signature_matches_the_sandbox_signature_for_the_same_inputs(
    method: str, path_qs: str, body: bytes
) -> None:
    secret = "sandbox-billing-signing-secret"
    timestamp = 1_735_689_600
    request = OutgoingRequest(method=method, path_qs=path_qs, body=body)

    assert hmac_signature(secret, timestamp, request) == billing_signature(secret, timestamp, method, path_qs, body)


def test_hmac_signature_changes_with_timestamp_body_and_secret() -> None:
    request = OutgoingRequest(method="POST", path_qs="/v1/invoices/in_1/pay", body=b"{}")
    base = hmac_signature("s", 100, request)

    assert hmac_signature("s", 101, request) != base
    assert hmac_signature("t", 100, request) != base
    other_body = OutgoingRequest(method="POST", path_qs="/v1/invoices/in_1/pay", body=b"{ }")
    assert hmac_signature("s", 100, other_body) != base


async def test_a_lower_case_method_is_signed_as_it_is_sent(sandbox: Any) -> None:
    _, _, http = billing_parts(sandbox, clock=time.time)
    await http.start()
    try:
        response = await http.send("get", "/v1/customers", params={"org_id": "org-1"})
    finally:
        await http.close()

    assert response.status == 200


async def test_requests_reach_their_own_paths_across_the_bound_of_kept_urls(
    sandbox: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(clients.http, "_URLS_MAX", 2)
    _, _, http = billing_parts(sandbox, clock=time.time)
    orgs = ("org-1", "org-2", "org-1", "org-3", "org-1")
    await http.start()
    try:
        responses = [await http.send("GET", "/v1/customers", params={"org_id": org}) for org in orgs]
    finally:
        await http.close()

    assert [response.status for response in responses] == [200] * 5
    bodies = [response.body for response in responses]
    assert bodies[0] == bodies[2] == bodies[4]
    assert b"org-1" in bodies[0]
    assert bodies[1] != bodies[0]
    assert len(http._urls) <= 2, "the URLs kept were dropped at the bound"
