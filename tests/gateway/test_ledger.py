"""A vendor is a setting: ``upstreams.billing.vendor: ledger`` serves the same ``BillingAccount``
from the ledger upstream, whose API, auth, amounts and status words differ from billing's."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import aiohttp
import pytest
from config_support import offline_upstreams
from harness import (
    ADMIN_HEADERS,
    DASHBOARD_QUERY,
    Gateway,
    GatewayServer,
    Sandbox,
    fresh_gateway,
    gateway_settings,
    upstream_requests,
)

from mobius.settings import ConfigError, load_settings
from sandbox import SandboxCredentials, SandboxUrls

BILLING = """query ($org: ID!, $status: String) {
  organization(id: $org) {
    billing {
      plan status seats currentPeriodEnd
      invoices(first: 8, status: $status) { id number status dueDate amountDue { amount minorUnits currency } }
    }
  }
}"""
PAY = """mutation ($id: ID!, $key: String!) { payInvoice(id: $id, idempotencyKey: $key) { id status } }"""
ORGS = ("org-1", "org-2", "org-3", "org-17", "org-40")


@pytest.fixture(scope="module")
def ledger_server(
    sandbox_server: tuple[SandboxUrls, SandboxCredentials],
) -> Iterator[GatewayServer]:
    """A gateway whose billing slot the ledger vendor serves, chosen as an operator would."""
    with pytest.MonkeyPatch.context() as env:
        env.setenv("MOBIUS_UPSTREAMS__BILLING__VENDOR", "ledger")
        settings = gateway_settings(sandbox_server)
    with GatewayServer(settings) as server:
        yield server


@pytest.fixture
async def ledger(ledger_server: GatewayServer, sandbox: Sandbox, http: aiohttp.ClientSession) -> Gateway:
    """The ledger gateway with a freshly reset sandbox, an empty cache and fresh resilience state."""
    return await fresh_gateway(ledger_server, http)


async def test_the_billing_account_is_the_same_from_either_vendor(
    gateway: Gateway, ledger: Gateway, sandbox: Sandbox
) -> None:
    for org in ORGS:
        for status in (None, "open", "paid"):
            variables: dict[str, Any] = {"org": org, "status": status}
            from_billing = await gateway.query(BILLING, variables)
            from_ledger = await ledger.query(BILLING, variables)

            assert "errors" not in from_billing
            assert from_ledger == from_billing, (org, status)


async def test_the_dashboards_billing_part_is_identical_and_costs_the_same_requests(
    gateway: Gateway, ledger: Gateway, sandbox: Sandbox
) -> None:
    await ledger.query('{ user(id: "user-1") { id } }')  # a token first
    before = await sandbox.api_requests()

    from_ledger = await ledger.query(DASHBOARD_QUERY, {"orgId": "org-1"})

    after = await sandbox.api_requests()
    from_billing = await gateway.query(DASHBOARD_QUERY, {"orgId": "org-1"})
    assert from_ledger == from_billing
    counts = {name: after[name] - before[name] for name in after}
    assert counts == upstream_requests(identity=3, ledger=3, projects=1)


async def test_the_upstreams_query_names_the_vendor(ledger: Gateway) -> None:
    result = await ledger.query("{ upstreams { name vendor } }")

    assert {"name": "billing", "vendor": "ledger"} in result["data"]["upstreams"]


async def test_paying_through_the_ledger_pays_once_per_key(ledger: Gateway, sandbox: Sandbox) -> None:
    invoices = await ledger.query(BILLING, {"org": "org-1", "status": "open"})
    invoice_id = invoices["data"]["organization"]["billing"]["invoices"][0]["id"]

    first = await ledger.query(PAY, {"id": invoice_id, "key": "ledger-once"}, headers=ADMIN_HEADERS)
    again = await ledger.query(PAY, {"id": invoice_id, "key": "ledger-once"}, headers=ADMIN_HEADERS)

    assert first == again == {"data": {"payInvoice": {"id": invoice_id, "status": "PAID"}}}
    other_key = await ledger.query(PAY, {"id": invoice_id, "key": "ledger-twice"}, headers=ADMIN_HEADERS)
    assert other_key["errors"][0]["extensions"] == {"code": "CONFLICT", "upstream": "billing"}


def test_the_ledger_refuses_billings_auth_kind() -> None:
    upstreams = offline_upstreams()
    upstreams["billing"]["vendor"] = "ledger"  # the billing vendor's section: HMAC-signed API key

    with pytest.raises(ConfigError, match=r"upstreams\.billing\.auth\.type: 'ledger' accepts basic"):
        load_settings(upstreams=upstreams)
