"""Writes through the gateway: optimistic concurrency, idempotent payment, issue changes."""

from __future__ import annotations

from harness import ADMIN_HEADERS, Gateway, Sandbox

UPDATE_USER = """mutation ($id: ID!, $name: String!, $etag: String!) {
  updateUser(id: $id, input: {name: $name}, ifMatch: $etag) { id name etag }
}"""
PAY = """mutation ($id: ID!, $key: String!) { payInvoice(id: $id, idempotencyKey: $key) { id status } }"""
WRITER = ADMIN_HEADERS
"""The demo caller: it has every write scope."""


async def test_update_user_with_current_etag_then_stale_etag_conflicts(gateway: Gateway, sandbox: Sandbox) -> None:
    etag = (await gateway.query('{ user(id: "user-7") { etag } }'))["data"]["user"]["etag"]

    updated = await gateway.query(UPDATE_USER, {"id": "user-7", "name": "Ada Renamed", "etag": etag}, headers=WRITER)
    assert updated["data"]["updateUser"]["name"] == "Ada Renamed"
    assert updated["data"]["updateUser"]["etag"] != etag
    assert (await gateway.query('{ user(id: "user-7") { name } }'))["data"]["user"]["name"] == "Ada Renamed"

    stale = await gateway.query(UPDATE_USER, {"id": "user-7", "name": "Lost Update", "etag": etag}, headers=WRITER)
    assert stale["data"] is None
    assert stale["errors"][0]["extensions"] == {"code": "CONFLICT", "upstream": "identity"}


async def test_paying_twice_with_one_key_pays_once(gateway: Gateway, sandbox: Sandbox) -> None:
    open_invoices = '{ organization(id: "org-1") { billing { invoices(first: 20, status: "open") { id } } } }'
    invoices = await gateway.query(open_invoices, headers=ADMIN_HEADERS)
    invoice_id = invoices["data"]["organization"]["billing"]["invoices"][0]["id"]

    first = await gateway.query(PAY, {"id": invoice_id, "key": "pay-once-1"}, headers=WRITER)
    again = await gateway.query(PAY, {"id": invoice_id, "key": "pay-once-1"}, headers=WRITER)

    assert first == again == {"data": {"payInvoice": {"id": invoice_id, "status": "PAID"}}}
    other_key = await gateway.query(PAY, {"id": invoice_id, "key": "pay-once-2"}, headers=WRITER)
    assert other_key["errors"][0]["extensions"] == {"code": "CONFLICT", "upstream": "billing"}


async def test_create_and_close_an_issue(gateway: Gateway, sandbox: Sandbox) -> None:
    create = (
        'mutation { createIssue(projectId: "proj-2", title: "  Write the runbook ") { id title state project { id } } }'
    )
    created = await gateway.query(create, headers=WRITER)
    issue = created["data"]["createIssue"]
    assert (issue["title"], issue["state"], issue["project"]) == ("Write the runbook", "OPEN", {"id": "proj-2"})

    closed = await gateway.query(
        "mutation ($id: ID!) { closeIssue(id: $id) { id state } }", {"id": issue["id"]}, headers=WRITER
    )
    assert closed["data"]["closeIssue"] == {"id": issue["id"], "state": "CLOSED"}


async def test_write_errors_are_coded(gateway: Gateway, sandbox: Sandbox) -> None:
    unknown = await gateway.query('mutation { closeIssue(id: "issue-999999") { id } }', headers=WRITER)
    assert unknown["errors"][0]["extensions"] == {"code": "NOT_FOUND", "upstream": "projects"}

    before = await sandbox.api_requests()
    blank = await gateway.query('mutation { createIssue(projectId: "proj-2", title: "   ") { id } }', headers=WRITER)
    assert blank["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT"}
    assert await sandbox.api_requests() == before


async def test_mutations_are_refused_over_get(gateway: Gateway) -> None:
    params = {"query": 'mutation { closeIssue(id: "issue-1") { id } }'}
    async with gateway.http.get(f"{gateway.url}/graphql", params=params) as response:
        assert response.status in (400, 405)
        assert "not allowed" in (await response.text()).lower()
