"""The projects sandbox publishes its issue events to RabbitMQ, and a gateway consuming them shows
the change on the next dashboard and to subscribers on every replica: sandbox -> broker -> stream
-> worker -> cache invalidation and the subscription bus."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import aio_pika
import aiohttp
import orjson
import pytest
from broker_support import Broker
from canary import CANARY_CREDENTIALS
from harness import ADMIN_HEADERS, DASHBOARD_QUERY, Gateway, GatewayServer, first_subscription_event, gateway_settings

from clients.projects import parse_webhook
from sandbox import SandboxServer, SandboxUrls
from sandbox.broker import BrokerTarget

WAIT_S = 15.0  # a hang guard, not a timing claim
CLOSE_ISSUE = "mutation($id: ID!) { closeIssue(id: $id) { id state } }"


@pytest.fixture
def broker_sandbox(broker: Broker) -> Iterator[SandboxUrls]:
    target = BrokerTarget(url=broker.url, exchange=broker.exchange)
    with SandboxServer(credentials=CANARY_CREDENTIALS, broker=target) as urls:
        yield urls


@pytest.fixture
async def watched(broker: Broker) -> AsyncIterator[aio_pika.abc.AbstractQueue]:
    """A queue of the test's own on the exchange, to see what the sandbox publishes."""
    connection = await aio_pika.connect(broker.url)
    async with connection:
        channel = await connection.channel()
        exchange = await channel.declare_exchange(broker.exchange, aio_pika.ExchangeType.TOPIC, durable=True)
        queue = await channel.declare_queue(exclusive=True)
        await queue.bind(exchange, routing_key="projects.#")
        yield queue


async def close_issue(http: aiohttp.ClientSession, urls: SandboxUrls, issue_id: str) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {CANARY_CREDENTIALS.projects.token}"}
    payload = {"query": CLOSE_ISSUE, "variables": {"id": issue_id}}
    async with http.post(f"{urls.projects}/graphql", json=payload, headers=headers) as response:
        assert response.status == 200
        result: dict[str, Any] = await response.json()
        return result


async def test_the_sandbox_publishes_an_issue_event_with_its_webhook_body(
    broker_sandbox: SandboxUrls, watched: aio_pika.abc.AbstractQueue, http: aiohttp.ClientSession
) -> None:
    closed = await close_issue(http, broker_sandbox, "issue-1")
    assert closed["data"]["closeIssue"]["state"] == "CLOSED"
    async with watched.iterator() as messages:
        message = await asyncio.wait_for(anext(messages), WAIT_S)
        await message.ack()
    assert message.routing_key == "projects.issue.closed"
    assert message.message_id
    body = orjson.loads(message.body)
    assert body["action"] == "closed"
    issue = body["issue"]
    assert (issue["id"], issue["state"]) == ("issue-1", "CLOSED")
    assert isinstance(issue["version"], int)
    [webhook] = parse_webhook(message.body)  # the webhook's body: the gateway reads both with one parse
    assert (webhook.type, webhook.entity_id, webhook.version) == ("issue.closed", "issue-1", issue["version"])
    deadline = time.monotonic() + WAIT_S
    while (stats := await broker_stats(http, broker_sandbox))["published"] < 1:  # confirmed after it was routed
        assert time.monotonic() < deadline
        await asyncio.sleep(0.02)
    assert stats["published"] == 1
    assert stats["recent"] == [{"routing_key": "projects.issue.closed", "message_id": message.message_id}]


async def test_reset_clears_the_broker_publisher_counters(
    broker_sandbox: SandboxUrls, watched: aio_pika.abc.AbstractQueue, http: aiohttp.ClientSession
) -> None:
    await close_issue(http, broker_sandbox, "issue-1")
    deadline = time.monotonic() + WAIT_S
    while (await broker_stats(http, broker_sandbox))["published"] < 1:
        assert time.monotonic() < deadline
        await asyncio.sleep(0.02)
    async with http.post(f"{broker_sandbox.projects}/_sandbox/reset") as response:
        assert response.status == 200
    stats = await broker_stats(http, broker_sandbox)
    assert (stats["published"], stats["dropped"], stats["errors"], stats["recent"]) == (0, 0, 0, [])
    await close_issue(http, broker_sandbox, "issue-1")  # open again after the reset; the publisher keeps working
    while (stats := await broker_stats(http, broker_sandbox))["published"] < 1:
        assert time.monotonic() < deadline
        await asyncio.sleep(0.02)
    assert [entry["routing_key"] for entry in stats["recent"]] == ["projects.issue.closed"]
    assert stats["published"] == 1


async def broker_stats(http: aiohttp.ClientSession, urls: SandboxUrls) -> dict[str, Any]:
    async with http.get(f"{urls.projects}/_sandbox/broker") as response:
        stats: dict[str, Any] = await response.json()
        return stats


APPENDED = 'mobius_broker_messages_total{outcome="appended",source="projects-rabbitmq"}'


async def scrape(http: aiohttp.ClientSession, url: str) -> dict[str, float]:
    """The gateway's /metrics as series -> value."""
    async with http.get(f"{url}/metrics") as response:
        text = await response.text()
    series = (line.rpartition(" ") for line in text.splitlines() if line and not line.startswith("#"))
    return {name: float(value) for name, _, value in series}


def issue_states(result: dict[str, Any]) -> dict[str, str]:
    projects = result["data"]["organization"]["projects"]["nodes"]
    return {issue["id"]: issue["state"] for project in projects for issue in project["issues"]["nodes"]}


@pytest.mark.parametrize("store", ["in-process", "redis"])
async def test_an_issue_closed_in_the_sandbox_shows_closed_on_the_next_dashboard(
    store: str,
    broker: Broker,
    broker_sandbox: SandboxUrls,
    http: aiohttp.ClientSession,
    redis_config: dict[str, str],
) -> None:
    """In process, and with the durable stream on Redis (the cache there too)."""
    redis = {} if store == "in-process" else {"redis": redis_config}
    settings = gateway_settings(
        (broker_sandbox, CANARY_CREDENTIALS),
        **redis,
        events={
            "broker": {
                "enabled": True,
                "url": broker.url,
                "exchange": broker.exchange,
                "queue": broker.queue,
                "reconnect": {"initial_s": 0.05, "max_s": 0.5},
            },
            "block_s": 0.05,
        },
    )
    with GatewayServer(settings) as server:
        [source] = server.app.state.events.sources
        deadline = time.monotonic() + WAIT_S
        while not source.consuming.is_set():
            assert time.monotonic() < deadline, "the gateway never consumed from the broker"
            await asyncio.sleep(0.02)
        gateway = Gateway(url=server.url, http=http)
        before = issue_states(await gateway.query(DASHBOARD_QUERY, {"orgId": "org-1"}))
        issue_id = next(issue for issue, state in before.items() if state == "OPEN")
        assert issue_states(await gateway.query(DASHBOARD_QUERY, {"orgId": "org-1"}))[issue_id] == "OPEN"  # cached

        before_metrics = await scrape(http, server.url)
        await close_issue(http, broker_sandbox, issue_id)
        deadline = time.monotonic() + 2.0
        while (state := issue_states(await gateway.query(DASHBOARD_QUERY, {"orgId": "org-1"}))[issue_id]) != "CLOSED":
            assert time.monotonic() < deadline, f"still {state} 2 s after the issue was closed"
            await asyncio.sleep(0.05)

        after = await scrape(http, server.url)
        assert after[APPENDED] == before_metrics.get(APPENDED, 0.0) + 1
        assert after['mobius_broker_connected{source="projects-rabbitmq"}'] == 1.0


ISSUE_EVENTS = "subscription Issues($project: ID!) { issueEvents(projectId: $project) { type issueId state } }"


async def test_an_issue_closed_through_the_broker_reaches_a_subscriber_on_another_replica(
    broker: Broker, broker_sandbox: SandboxUrls, http: aiohttp.ClientSession, redis_config: dict[str, str]
) -> None:
    """Replica A consumes the broker; replica B shares only Redis with it. The issue closed in the
    sandbox reaches B's subscriber, and B's next dashboard shows it closed, within 2 s."""
    broker_settings = {
        "enabled": True,
        "url": broker.url,
        "exchange": broker.exchange,
        "queue": broker.queue,
        "reconnect": {"initial_s": 0.05, "max_s": 0.5},
    }
    consuming = gateway_settings(
        (broker_sandbox, CANARY_CREDENTIALS), redis=redis_config, events={"broker": broker_settings, "block_s": 0.05}
    )
    other = gateway_settings((broker_sandbox, CANARY_CREDENTIALS), redis=redis_config, events={"block_s": 0.05})
    with GatewayServer(consuming) as a, GatewayServer(other) as b:
        [source] = a.app.state.events.sources
        deadline = time.monotonic() + WAIT_S
        while not source.consuming.is_set():
            assert time.monotonic() < deadline, "the gateway never consumed from the broker"
            await asyncio.sleep(0.02)
        on_b = Gateway(url=b.url, http=http)
        dashboard = await on_b.query(DASHBOARD_QUERY, {"orgId": "org-1"}, headers=ADMIN_HEADERS)
        project_id, issue_id = next(
            (project["id"], issue["id"])
            for project in dashboard["data"]["organization"]["projects"]["nodes"]
            for issue in project["issues"]["nodes"]
            if issue["state"] == "OPEN"
        )
        listening = asyncio.create_task(first_subscription_event(b.url, ISSUE_EVENTS, {"project": project_id}))
        while not b.app.state.bus.fanout.listens(f"issue:{project_id}"):
            assert time.monotonic() < deadline, "the subscriber never listened"
            await asyncio.sleep(0.01)

        started = time.monotonic()
        await close_issue(http, broker_sandbox, issue_id)
        event = await asyncio.wait_for(listening, 2)
        shown = issue_states(await on_b.query(DASHBOARD_QUERY, {"orgId": "org-1"}, headers=ADMIN_HEADERS))
        elapsed_s = time.monotonic() - started

    assert event == {"type": "issue.closed", "issueId": issue_id, "state": "CLOSED"}
    assert shown[issue_id] == "CLOSED"
    assert elapsed_s < 2
