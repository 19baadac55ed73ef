"""The billing upstream over HTTP: signed requests, per-customer lists, idempotent payment."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

import aiohttp
from canary import CANARY_CREDENTIALS

from sandbox import SandboxUrls
from sandbox.signing import billing_signature, parse_signature_header

CREDS = CANARY_CREDENTIALS
INVOICES = "/v1/invoices?customer=cus_1&limit=3"
Billing = Callable[..., Awaitable[aiohttp.ClientResponse]]


async def _raw(http: aiohttp.ClientSession, urls: SandboxUrls, path: str, headers: dict[str, str]) -> int:
    async with http.get(f"{urls.billing}{path}", headers=headers) as response:
        if response.status == 401:
            assert (await response.json())["error"]["type"] == "authentication_error"
        return response.status


def _signed(
    t: int, path: str, *, key: str = CREDS.billing.api_key, secret: str = CREDS.billing.signing_secret
) -> dict[str, str]:
    signature = billing_signature(secret, t, "GET", path, b"")
    return {"Authorization": f"Bearer {key}", "Mobius-Signature": f"t={t},v1={signature}"}


def test_signature_header_parsing() -> None:
    assert parse_signature_header("t=12,v1=ab,v1=cd") == (12, ["ab", "cd"])
    assert parse_signature_header("v1=ab") is None
    assert parse_signature_header("t=x,v1=ab") is None
    assert parse_signature_header("t=\u00b2,v1=ab") is None
    assert parse_signature_header(f"t={'1' * 5000},v1=ab") is None
    assert parse_signature_header("garbage") is None


async def test_a_limit_int_cannot_read_is_a_client_error(billing: Billing) -> None:
    for limit in ("%C2%B2", "1" * 5000):
        response = await billing("GET", f"/v1/invoices?customer=cus_1&limit={limit}")
        assert response.status == 400
        assert (await response.json())["error"]["code"] == "parameter_invalid"


async def test_signed_request_is_accepted(urls: SandboxUrls, http: aiohttp.ClientSession) -> None:
    assert await _raw(http, urls, INVOICES, _signed(int(time.time()), INVOICES)) == 200


async def test_any_matching_v1_entry_is_accepted(urls: SandboxUrls, http: aiohttp.ClientSession) -> None:
    headers = _signed(int(time.time()), INVOICES)
    t, valid = headers["Mobius-Signature"].split(",")
    headers["Mobius-Signature"] = f"{t},v1={'0' * 64},{valid}"
    assert await _raw(http, urls, INVOICES, headers) == 200


async def test_bad_requests_are_401(urls: SandboxUrls, http: aiohttp.ClientSession) -> None:
    now = int(time.time())
    tampered = _signed(now, "/v1/invoices?customer=cus_2&limit=3")
    assert await _raw(http, urls, INVOICES, tampered) == 401
    assert await _raw(http, urls, INVOICES, _signed(now - 301, INVOICES)) == 401
    assert await _raw(http, urls, INVOICES, _signed(now, INVOICES, key="sk_wrong")) == 401
    assert await _raw(http, urls, INVOICES, _signed(now, INVOICES, secret="wrong")) == 401
    unsigned = {"Authorization": f"Bearer {CREDS.billing.api_key}"}
    assert await _raw(http, urls, INVOICES, unsigned) == 401
    assert await _raw(http, urls, INVOICES, {**unsigned, "Mobius-Signature": "nonsense"}) == 401


async def test_customer_and_subscription_by_org(billing: Billing) -> None:
    response = await billing("GET", "/v1/customers?org_id=org-1")
    body = await response.json()
    assert body["object"] == "list"
    assert [c["id"] for c in body["data"]] == ["cus_1"]
    assert (await (await billing("GET", "/v1/customers?org_id=org-nope")).json())["data"] == []
    subs = await (await billing("GET", "/v1/subscriptions?customer=cus_1")).json()
    assert [(s["plan"], s["status"]) for s in subs["data"]] == [("business", "active")]
    assert (await billing("GET", "/v1/customers")).status == 400


async def test_invoices_page_newest_first_with_status_filter(billing: Billing) -> None:
    first = await (await billing("GET", "/v1/invoices?customer=cus_1&limit=5")).json()
    assert len(first["data"]) == 5
    assert first["has_more"] is True
    created = [i["created"] for i in first["data"]]
    assert created == sorted(created, reverse=True)
    after = first["data"][-1]["id"]
    rest = await (await billing("GET", f"/v1/invoices?customer=cus_1&limit=100&starting_after={after}")).json()
    assert len(rest["data"]) == 7
    assert rest["has_more"] is False
    open_only = await (await billing("GET", "/v1/invoices?customer=cus_1&status=open")).json()
    assert len(open_only["data"]) >= 3
    assert {i["status"] for i in open_only["data"]} == {"open"}
    for bad in ("limit=101", "status=bogus", "starting_after=in_2_1"):
        assert (await billing("GET", f"/v1/invoices?customer=cus_1&{bad}")).status == 400


async def test_pay_is_idempotent_per_key(fresh_sandbox: SandboxUrls, billing: Billing) -> None:
    open_ids = [
        i["id"] for i in (await (await billing("GET", "/v1/invoices?customer=cus_1&status=open")).json())["data"]
    ]
    invoice = open_ids[0]
    first = await billing("POST", f"/v1/invoices/{invoice}/pay", headers={"Idempotency-Key": "k-1"})
    again = await billing("POST", f"/v1/invoices/{invoice}/pay", headers={"Idempotency-Key": "k-1"})
    assert first.status == again.status == 200
    assert await first.json() == await again.json()
    assert (await first.json())["status"] == "paid"
    assert again.headers["Idempotent-Replayed"] == "true"
    unkeyed = await billing("POST", f"/v1/invoices/{invoice}/pay")
    assert unkeyed.status == 409
    assert (await unkeyed.json())["error"] == {
        "type": "invalid_request_error",
        "code": "invoice_already_paid",
        "message": "Invoice is already paid.",
    }
    assert (await billing("POST", "/v1/invoices/in_nope/pay")).status == 404
    reused = await billing("POST", f"/v1/invoices/{open_ids[1]}/pay", headers={"Idempotency-Key": "k-1"})
    assert reused.status == 400


async def test_signed_post_body_is_covered(billing: Billing) -> None:
    response = await billing("POST", "/v1/invoices/in_nope/pay", body=b'{"source": "x"}')
    assert response.status == 404
