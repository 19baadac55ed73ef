"""The ledger upstream over HTTP: a second billing vendor that answers the same seeded accounts as
billing in its own shape, with Basic auth, offset pages, strict filters and idempotent collection."""

from __future__ import annotations

import json
from typing import Any

import aiohttp
import pytest
from canary import CANARY, CANARY_CREDENTIALS

from sandbox import SandboxUrls
from sandbox.ledger_data import fresh_ledger, ledger_from_billing
from sandbox.seed import fresh_billing
from tests.sandbox.callers import Call, basic

CREDS = CANARY_CREDENTIALS.ledger
SUBSCRIPTION_WORDS = {"active": "active", "in_trial": "trialing", "cancelled": "canceled"}
INVOICE_WORDS = {
    "paid": "paid", "posted": "open", "payment_due": "open", "not_paid": "uncollectible", "voided": "void",
    "pending": "draft",
}  # fmt: skip
ORG1_INVOICES = "/api/v2/invoices?customer_id[is]=AC-00001"


async def listed(call: Call, path: str, **options: Any) -> dict[str, Any]:
    response = await call("GET", path, **options)
    assert response.status == 200, await response.text()
    body: dict[str, Any] = await response.json()
    return body


async def every_page(call: Call, path: str, kind: str, *, limit: int) -> list[list[dict[str, Any]]]:
    """Each page of a list, continuing at `next_offset` until it is absent."""
    pages, offset = [], "0"
    while True:
        page = await listed(call, f"{path}{'&' if '?' in path else '?'}limit={limit}&offset={offset}")
        pages.append([item[kind] for item in page["list"]])
        if "next_offset" not in page:
            return pages
        offset = page["next_offset"]


def as_billing_sees_it(subscription: dict[str, Any], invoices: list[dict[str, Any]]) -> dict[str, Any]:
    """The account in billing's words, read from the ledger's answers."""
    status = SUBSCRIPTION_WORDS[subscription["status"]]
    if status == "active" and subscription["due_since"] is not None:
        status = "past_due"
    return {
        "plan": subscription["plan_id"],
        "status": status,
        "seats": subscription["plan_quantity"],
        "current_period_end": subscription["current_term_end"],
        "invoices": [
            {
                "id": i["id"],
                "number": i["invoice_number"],
                "amount_due": i["total"],
                "currency": i["currency_code"].lower(),
                "status": INVOICE_WORDS[i["status"]],
                "due_date": i["due_date"],
            }
            for i in invoices
        ],
    }


def billing_account(subscription: dict[str, Any], invoices: list[dict[str, Any]]) -> dict[str, Any]:
    fields = ("id", "number", "amount_due", "currency", "status", "due_date")
    return {
        "plan": subscription["plan"],
        "status": subscription["status"],
        "seats": subscription["seats"],
        "current_period_end": subscription["current_period_end"],
        "invoices": [{name: invoice[name] for name in fields} for invoice in invoices],
    }


async def test_the_api_key_as_basic_user_is_accepted_and_anything_else_is_401(
    fresh_sandbox: SandboxUrls, ledger: Call, http: aiohttp.ClientSession
) -> None:
    assert (await ledger("GET", "/api/v2/customers?org_id[is]=org-1")).status == 200
    with_password = basic(CREDS.api_key, "ignored")
    assert (await ledger("GET", "/api/v2/customers", headers=with_password)).status == 200
    refused = [
        {},
        basic("wrong-key", ""),
        basic("", CREDS.api_key),
        {"Authorization": f"Bearer {CREDS.api_key}"},
        {"Authorization": "Basic %%%"},
    ]
    for headers in refused:
        response = await ledger("GET", "/api/v2/customers", headers=headers)
        assert response.status == 401, headers
        body = await response.json()
        assert (body["api_error_code"], body["http_status_code"]) == ("api_authentication_failed", 401)
        assert response.headers["WWW-Authenticate"].startswith("Basic ")

    async with http.get(f"{fresh_sandbox.ledger}/_sandbox/stats") as response:
        stats = await response.json()
    assert stats["credentials"]["api_key"]["accepted"] == {"k1": 2}
    assert stats["credentials"]["api_key"]["rejected"] == len(refused)
    assert CANARY not in repr(stats)


@pytest.mark.parametrize("org", ["org-1", "org-2", "org-17", "org-240"])
async def test_a_fresh_sandbox_answers_an_account_the_same_through_billing_and_ledger(
    fresh_sandbox: SandboxUrls, org: str, ledger: Call, billing: Any
) -> None:
    customer = (await listed(ledger, f"/api/v2/customers?org_id[is]={org}"))["list"][0]["customer"]
    subscription = (await listed(ledger, f"/api/v2/subscriptions?customer_id[is]={customer['id']}"))["list"]
    invoices = await every_page(ledger, f"/api/v2/invoices?customer_id[is]={customer['id']}", "invoice", limit=100)

    billing_customer = (await (await billing("GET", f"/v1/customers?org_id={org}")).json())["data"][0]
    cus = billing_customer["id"]
    billing_sub = (await (await billing("GET", f"/v1/subscriptions?customer={cus}")).json())["data"][0]
    billing_invoices = (await (await billing("GET", f"/v1/invoices?customer={cus}&limit=100")).json())["data"]

    assert customer["org_id"] == org
    assert customer["company"] == billing_customer["name"]
    assert customer["id"] != cus
    assert as_billing_sees_it(subscription[0]["subscription"], invoices[0]) == billing_account(
        billing_sub, billing_invoices
    )


def test_every_seeded_account_maps_back_to_billing() -> None:
    billing, ledger = fresh_billing(), ledger_from_billing(fresh_billing())
    for customer in billing.customers.values():
        (ledger_customer,) = ledger.customers_of(customer.org_id)
        (subscription,) = ledger.subscriptions_of(ledger_customer.id)
        invoices = [invoice.to_json() for invoice in ledger.invoices_of(ledger_customer.id)]
        (billing_sub,) = [s for s in billing.subscriptions.values() if s.customer == customer.id]
        billing_invoices = [billing.invoices[i].to_json() for i in billing.invoices_by_customer[customer.id]]
        assert as_billing_sees_it(subscription.to_json(), invoices) == billing_account(
            billing_sub.to_json(), billing_invoices
        )


async def test_offset_pages_run_to_the_end_without_gaps_or_repeats(ledger: Call) -> None:
    pages = await every_page(ledger, ORG1_INVOICES, "invoice", limit=5)
    assert [len(page) for page in pages] == [5, 5, 2]
    ids = [invoice["id"] for page in pages for invoice in page]
    assert ids == [f"in_1_{k}" for k in range(12, 0, -1)]

    customers = await every_page(ledger, "/api/v2/customers", "customer", limit=100)
    assert [len(page) for page in customers] == [100, 100, 40]
    assert len({c["id"] for page in customers for c in page}) == 240
    past_the_end = await listed(ledger, f"{ORG1_INVOICES}&offset=12")
    assert past_the_end == {"list": []}


async def test_status_filters_speak_the_ledgers_words(ledger: Call) -> None:
    paid = await listed(ledger, f"{ORG1_INVOICES}&status[is]=paid&limit=100")
    assert {item["invoice"]["status"] for item in paid["list"]} == {"paid"}
    open_ones = await listed(
        ledger, "/api/v2/invoices", params={"customer_id[is]": "AC-00001", "status[in]": '["posted","payment_due"]'}
    )
    assert {item["invoice"]["status"] for item in open_ones["list"]} <= {"posted", "payment_due"}
    assert len(open_ones["list"]) == 3
    assert all(item["invoice"]["amount_due"] == item["invoice"]["total"] for item in open_ones["list"])
    trials = await listed(ledger, "/api/v2/subscriptions?status[is]=in_trial&limit=100")
    assert trials["list"]
    assert {item["subscription"]["status"] for item in trials["list"]} == {"in_trial"}


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("customer_id=AC-00001", "param_not_supported"),
        ("customer[is]=AC-00001", "param_not_supported"),
        ("status[is]=open", "param_wrong_value"),
        ("status[in]=paid", "param_wrong_value"),
        ('status[in]=["paid","open"]', "param_wrong_value"),
        ("status[in]=[]", "param_wrong_value"),
        ("status[in]=" + json.dumps(["paid"] * 100), "param_wrong_value"),
        ('status[is]=paid&status[in]=["paid"]', "param_wrong_value"),
        ("limit=5&limit=6", "param_wrong_value"),
        ("limit=0", "param_wrong_value"),
        ("limit=101", "param_wrong_value"),
        ("offset=-1", "param_wrong_value"),
        ("offset=%C2%B2", "param_wrong_value"),
        ("offset=" + "9" * 5000, "param_wrong_value"),
    ],
)
async def test_a_list_parameter_it_does_not_know_or_cannot_read_is_400(ledger: Call, query: str, code: str) -> None:
    response = await ledger("GET", f"/api/v2/invoices?{query}")

    assert response.status == 400
    body = await response.json()
    assert (body["api_error_code"], body["type"], body["http_status_code"]) == (code, "invalid_request", 400)


async def test_collecting_a_payment_is_idempotent_per_key_and_reset_restores_the_invoice(
    fresh_sandbox: SandboxUrls, ledger: Call, billing: Any, http: aiohttp.ClientSession
) -> None:
    due = next(i for i in fresh_ledger().invoices_of("AC-00001") if i.status == "payment_due")
    path = f"/api/v2/invoices/{due.id}/collect_payment"
    key = {**basic(CREDS.api_key, ""), "Ledger-Idempotency-Key": "pay-once"}

    first = await ledger("POST", path, headers=key)
    assert first.status == 200
    body = await first.json()
    assert body["invoice"] | {"paid_at": None} == due.to_json() | {
        "status": "paid", "amount_paid": due.total, "amount_due": 0, "paid_at": None,
    }  # fmt: skip
    assert (body["transaction"]["amount"], body["transaction"]["currency_code"]) == (due.total, due.currency_code)

    again = await ledger("POST", path, headers=key)
    assert (again.status, await again.json(), again.headers["Ledger-Idempotency-Replayed"]) == (200, body, "true")
    elsewhere = await ledger("POST", "/api/v2/invoices/in_1_10/collect_payment", headers=key)
    assert elsewhere.status == 400
    unkeyed = await ledger("POST", path)
    assert unkeyed.status == 409
    assert (await unkeyed.json())["api_error_code"] == "invalid_state_for_request"
    listed_now = await listed(ledger, f"{ORG1_INVOICES}&limit=100")
    assert next(i["invoice"] for i in listed_now["list"] if i["invoice"]["id"] == due.id)["status"] == "paid"

    in_billing = await (await billing("GET", "/v1/invoices?customer=cus_1&limit=100")).json()
    assert next(i for i in in_billing["data"] if i["id"] == due.id)["status"] == "open"

    async with http.post(f"{fresh_sandbox.ledger}/_sandbox/reset") as response:
        assert response.status == 200
    assert (await ledger("POST", path, headers=key)).status == 200


async def test_only_a_posted_or_due_invoice_can_be_collected(fresh_sandbox: SandboxUrls, ledger: Call) -> None:
    invoices = fresh_ledger().invoices.values()
    for status in ("paid", "voided", "pending"):
        invoice = next(i for i in invoices if i.status == status)
        response = await ledger("POST", f"/api/v2/invoices/{invoice.id}/collect_payment")
        assert response.status == 409, status
    missing = await ledger("POST", "/api/v2/invoices/in_0_0/collect_payment")
    assert (missing.status, (await missing.json())["api_error_code"]) == (404, "resource_not_found")
    for bad_key in ("", "k" * 256):
        response = await ledger(
            "POST",
            "/api/v2/invoices/in_0_0/collect_payment",
            headers={**basic(CREDS.api_key, ""), "Ledger-Idempotency-Key": bad_key},
        )
        assert response.status == 400, len(bad_key)


async def test_requests_are_counted_by_route_and_faults_answer_in_the_ledger_envelope(
    fresh_sandbox: SandboxUrls, ledger: Call, http: aiohttp.ClientSession
) -> None:
    base = fresh_sandbox.ledger
    async with http.post(f"{base}/_sandbox/faults", json={"error_rate": 1.0, "status": 502}) as response:
        assert response.status == 200
    failed = await ledger("GET", ORG1_INVOICES)
    assert (failed.status, (await failed.json())["api_error_code"]) == (502, "injected_fault")
    async with http.post(f"{base}/_sandbox/faults", json={"rate_limit": {"limit": 0, "window_s": 3600}}) as response:
        assert response.status == 200
    limited = await ledger("GET", "/api/v2/customers")
    assert limited.status == 429
    assert int(limited.headers["Retry-After"]) >= 1

    async with http.get(f"{base}/_sandbox/stats") as response:
        stats = await response.json()
    assert stats["routes"] == {"GET /api/v2/customers": 1, "GET /api/v2/invoices": 1}


async def test_a_rotated_api_key_replaces_the_old_one_and_reset_restores_it(
    fresh_sandbox: SandboxUrls, ledger: Call, http: aiohttp.ClientSession
) -> None:
    base = fresh_sandbox.ledger
    new = "R" + CREDS.api_key
    async with http.post(f"{base}/_sandbox/rotate", json={"credential": "api_key", "value": new}) as response:
        assert response.status == 200
    assert (await ledger("GET", "/api/v2/customers")).status == 401
    assert (await ledger("GET", "/api/v2/customers", headers=basic(new, ""))).status == 200

    async with http.post(f"{base}/_sandbox/reset") as response:
        assert response.status == 200
    assert (await ledger("GET", "/api/v2/customers")).status == 200
