"""A change at an upstream, with no mutation through the gateway: the sandbox sends a signed webhook,
the gateway's worker invalidates the cache, and the next read shows the change."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import aiohttp
import orjson
import pytest
from harness import ADMIN_HEADERS, Gateway, GatewayServer, Sandbox, gateway_settings

from sandbox import SandboxCredentials, SandboxUrls
from sandbox.signing import signature_header

WITHIN_S = 2.0
ISSUES = '{ project(id: "proj-1") { issues(first: 50) { nodes { id state } } } }'
INVOICES = '{ organization(id: "org-1") { billing { invoices(first: 20) { id status } } } }'


@pytest.fixture
def server(
    sandbox_server: tuple[SandboxUrls, SandboxCredentials], redis_config: dict[str, Any]
) -> Iterator[GatewayServer]:
    """A gateway on Redis whose cache would keep issues and invoices for ten minutes."""
    settings = gateway_settings(
        sandbox_server, redis=redis_config, cache={"ttl_s": {"issues": 600, "invoices": 600, "customers": 600}}
    )
    with GatewayServer(settings) as gateway:
        yield gateway


async def point_webhooks_at(sandbox: Sandbox, upstream: str, target: str) -> None:
    async with sandbox.http.post(f"{sandbox.url(upstream)}/_sandbox/webhooks", json={"target": target}) as response:
        assert response.status == 200


async def within(deadline_s: float, read: Callable[[], Awaitable[bool]]) -> None:
    deadline = time.monotonic() + deadline_s
    while not await read():
        assert time.monotonic() < deadline, f"the change did not show within {deadline_s} s"
        await asyncio.sleep(0.05)


async def test_an_issue_closed_at_the_upstream_shows_closed_within_2_s(
    server: GatewayServer, sandbox: Sandbox, http: aiohttp.ClientSession
) -> None:
    gateway = Gateway(server.url, http)
    await point_webhooks_at(sandbox, "projects", server.url)
    nodes = (await gateway.query(ISSUES, headers=ADMIN_HEADERS))["data"]["project"]["issues"]["nodes"]
    issue = next(node["id"] for node in nodes if node["state"] == "OPEN")

    close = {"query": "mutation ($id: ID!) { closeIssue(id: $id) { id state } }", "variables": {"id": issue}}
    token = sandbox.credentials.projects.token
    async with http.post(
        f"{sandbox.url('projects')}/graphql", json=close, headers={"Authorization": f"Bearer {token}"}
    ) as response:
        assert (await response.json())["data"]["closeIssue"]["state"] == "CLOSED"

    async def closed() -> bool:
        nodes = (await gateway.query(ISSUES, headers=ADMIN_HEADERS))["data"]["project"]["issues"]["nodes"]
        return any(node["id"] == issue and node["state"] == "CLOSED" for node in nodes)

    await within(WITHIN_S, closed)
    async with http.get(f"{sandbox.url('projects')}/_sandbox/webhooks") as response:
        deliveries = (await response.json())["deliveries"]
    assert [(d["type"], d["status"], d["outcome"]) for d in deliveries] == [("issue.closed", 202, "delivered")]


async def test_an_invoice_paid_at_the_upstream_shows_paid_within_2_s(
    server: GatewayServer, sandbox: Sandbox, http: aiohttp.ClientSession
) -> None:
    gateway = Gateway(server.url, http)
    await point_webhooks_at(sandbox, "billing", server.url)
    invoices = (await gateway.query(INVOICES, headers=ADMIN_HEADERS))["data"]["organization"]["billing"]["invoices"]
    invoice = next(one["id"] for one in invoices if one["status"] == "OPEN")

    billing = sandbox.credentials.billing
    path = f"/v1/invoices/{invoice}/pay"
    signed = signature_header(billing.signing_secret, int(time.time()), "POST", path, b"")
    headers = {"Authorization": f"Bearer {billing.api_key}", "Mobius-Signature": signed}
    async with http.post(f"{sandbox.url('billing')}{path}", data=b"", headers=headers) as response:
        assert orjson.loads(await response.read())["status"] == "paid"

    async def paid() -> bool:
        answer = await gateway.query(INVOICES, headers=ADMIN_HEADERS)
        return {"id": invoice, "status": "PAID"} in answer["data"]["organization"]["billing"]["invoices"]

    await within(WITHIN_S, paid)
