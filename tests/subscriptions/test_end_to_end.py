"""End to end, across replicas: ``payInvoice`` on gateway A -> the sandbox billing pays and sends
its signed webhook to A -> verified, appended to the durable stream, consumed by a worker ->
published on the bus -> a subscriber on gateway B receives the invoice event, and B's next
dashboard shows the invoice paid, all within 2 s."""

from __future__ import annotations

import asyncio
import time
import uuid

from harness import ADMIN_HEADERS, DASHBOARD_QUERY, Gateway, GatewayServer, Sandbox, first_subscription_event
from subscription_support import (
    SandboxServerInfo,
    delivered,
    point_webhooks_at,
    until_listening,
    webhook_settings,
)

PAID_EVENTS = """
subscription Paid($org: ID!) {
  invoiceEvents(orgId: $org) { type invoiceId status invoice { id status } }
}"""
PAY = "mutation Pay($id: ID!, $key: String!) { payInvoice(id: $id, idempotencyKey: $key) { id status } }"


async def open_invoice(gateway: Gateway) -> tuple[str, str]:
    """An organization and one of its open invoices the dashboard shows."""
    for number in range(1, 50):
        org_id = f"org-{number}"
        answer = await gateway.query(DASHBOARD_QUERY, {"orgId": org_id}, headers=ADMIN_HEADERS)
        billing = answer["data"]["organization"]["billing"]
        for invoice in billing["invoices"] if billing else []:
            if invoice["status"] == "OPEN":
                return org_id, invoice["id"]
    raise AssertionError("no organization with an open invoice on its dashboard")


async def test_a_paid_invoice_reaches_a_subscriber_on_another_replica_and_the_next_dashboard(
    sandbox_server: SandboxServerInfo, sandbox: Sandbox, redis_url: str, redis_prefix: str
) -> None:
    settings = webhook_settings(sandbox_server, redis_url, redis_prefix)
    with GatewayServer(settings) as a, GatewayServer(settings) as b:
        on_a, on_b = Gateway(a.url, sandbox.http), Gateway(b.url, sandbox.http)
        await point_webhooks_at(sandbox.http, sandbox.url("billing"), a.url)
        org_id, invoice_id = await open_invoice(on_b)
        listening = asyncio.create_task(first_subscription_event(b.url, PAID_EVENTS, {"org": org_id}))
        await until_listening(b, f"invoice:{org_id}")

        started = time.monotonic()
        paid = await on_a.query(PAY, {"id": invoice_id, "key": uuid.uuid4().hex}, headers=ADMIN_HEADERS)
        event = await asyncio.wait_for(listening, 2)
        dashboard = await on_b.query(DASHBOARD_QUERY, {"orgId": org_id}, headers=ADMIN_HEADERS)
        elapsed_s = time.monotonic() - started
        sent = await delivered(sandbox.http, sandbox.url("billing"))

    assert paid["data"]["payInvoice"] == {"id": invoice_id, "status": "PAID"}
    assert event == {
        "type": "invoice.paid",
        "invoiceId": invoice_id,
        "status": "PAID",
        "invoice": {"id": invoice_id, "status": "PAID"},
    }
    shown = {invoice["id"]: invoice["status"] for invoice in dashboard["data"]["organization"]["billing"]["invoices"]}
    assert shown[invoice_id] == "PAID"
    assert sent == [("invoice.paid", "delivered")]
    assert elapsed_s < 2
