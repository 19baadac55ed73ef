"""Kept answers (`sandbox.answers`): a repeated read answers the same bytes, is still authenticated,
counted and faulted, and a change of the data (a mutation, a reset) is seen by the next read."""

from __future__ import annotations

import aiohttp

from sandbox import SandboxUrls
from tests.sandbox.callers import Call
from tests.sandbox.conftest import BillingCall


async def _get(http: aiohttp.ClientSession, url: str, headers: dict[str, str]) -> tuple[int, bytes, str | None]:
    async with http.get(url, headers=headers) as response:
        return response.status, await response.read(), response.headers.get("ETag")


async def test_a_repeated_read_is_the_same_answer_and_still_authenticated_counted_and_faulted(
    fresh_sandbox: SandboxUrls, http: aiohttp.ClientSession, identity_headers: dict[str, str]
) -> None:
    url = f"{fresh_sandbox.identity}/v1/users/user-3"
    first = await _get(http, url, identity_headers)
    assert first[0] == 200
    assert first[2] is not None
    assert await _get(http, url, identity_headers) == first
    assert (await _get(http, url, {"Authorization": "Bearer not-issued"}))[0] == 401
    async with http.post(f"{fresh_sandbox.identity}/_sandbox/faults", json={"error_burst": 1}) as response:
        assert response.status == 200
    assert (await _get(http, url, identity_headers))[0] == 503
    assert await _get(http, url, identity_headers) == first
    async with http.get(f"{fresh_sandbox.identity}/_sandbox/stats") as response:
        stats = await response.json()
    assert stats["routes"]["GET /v1/users/{id}"] == 5


async def test_a_patch_is_seen_by_the_next_reads(
    fresh_sandbox: SandboxUrls, http: aiohttp.ClientSession, identity_headers: dict[str, str]
) -> None:
    base = fresh_sandbox.identity
    user_url, batch_url = f"{base}/v1/users/user-5", f"{base}/v1/users?ids=user-5,user-6"
    seeded = await _get(http, user_url, identity_headers)
    assert b'"name":"Renamed"' not in (await _get(http, batch_url, identity_headers))[1]
    headers = {**identity_headers, "If-Match": seeded[2] or ""}
    async with http.patch(user_url, json={"name": "Renamed"}, headers=headers) as response:
        assert response.status == 200
    status, body, etag = await _get(http, user_url, identity_headers)
    assert (status, etag != seeded[2]) == (200, True)
    assert b'"name":"Renamed"' in body
    assert b'"name":"Renamed"' in (await _get(http, batch_url, identity_headers))[1]


async def test_paying_an_invoice_is_seen_by_the_next_list_and_a_reset_restores_the_seed(
    fresh_sandbox: SandboxUrls, http: aiohttp.ClientSession, billing: BillingCall
) -> None:
    listing = "/v1/invoices?customer=cus_1&status=open&limit=100"
    seeded = await (await billing("GET", listing)).read()
    before = await (await billing("GET", listing)).json()
    invoice = before["data"][0]["id"]
    assert (await billing("POST", f"/v1/invoices/{invoice}/pay")).status == 200
    after = await (await billing("GET", listing)).json()
    assert [i["id"] for i in after["data"]] == [i["id"] for i in before["data"][1:]]
    async with http.post(f"{fresh_sandbox.billing}/_sandbox/reset") as response:
        assert response.status == 200
    assert await (await billing("GET", listing)).read() == seeded


async def test_a_ticket_change_is_seen_by_the_next_reads_of_it(fresh_sandbox: SandboxUrls, support: Call) -> None:
    one, many = "/api/v2/tickets/2", "/api/v2/tickets/show_many?ids=2,3"
    before = await (await support("GET", one)).json()
    assert (await (await support("GET", many)).json())["tickets"][0] == before["ticket"]
    status = "pending" if before["ticket"]["status"] != "pending" else "open"
    assert (await support("PUT", one, json={"ticket": {"status": status}})).status == 200
    after = await (await support("GET", one)).json()
    assert after["ticket"]["status"] == status
    assert (await (await support("GET", many)).json())["tickets"][0] == after["ticket"]


async def test_a_collected_ledger_invoice_is_seen_by_the_next_list(fresh_sandbox: SandboxUrls, ledger: Call) -> None:
    listing = "/api/v2/invoices?customer_id[is]=AC-00001&limit=100"
    before = [item["invoice"] for item in (await (await ledger("GET", listing)).json())["list"]]
    due = next(invoice["id"] for invoice in before if invoice["status"] == "payment_due")
    assert (await ledger("POST", f"/api/v2/invoices/{due}/collect_payment")).status == 200
    after = [item["invoice"] for item in (await (await ledger("GET", listing)).json())["list"]]
    assert next(invoice["status"] for invoice in after if invoice["id"] == due) == "paid"
