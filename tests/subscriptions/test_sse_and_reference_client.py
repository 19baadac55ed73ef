"""GraphQL over Server-Sent Events (distinct connections) and the npm reference ``graphql-ws``
client against the real gateway; a subscription asked for as plain JSON is refused with 406."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from subscription_support import (
    BEARER,
    INVOICE_EVENTS,
    LARGE_ID_BYTES,
    SandboxServerInfo,
    invoice_event,
    publisher,
    read_to_end,
    serving,
    stalled_sse_subscriber,
    until_listening,
)

TOPIC = "invoice:org-1"
CLIENT_DIR = Path(__file__).parent / "js"


@dataclass
class Stream:
    events: list[tuple[str, str]] = field(default_factory=list)
    """(event, data) pairs."""
    comments: int = 0
    """Comment lines: the heartbeat."""


async def read_events(response: aiohttp.ClientResponse, *, nexts: int | None = None, comments: int = 0) -> Stream:
    """Until ``complete``, or ``nexts`` next events and ``comments`` heartbeats."""
    stream = Stream()
    name, data = "", ""
    async for raw in response.content:
        line = raw.decode().rstrip("\n")
        if line.startswith(":"):
            stream.comments += 1
        elif line.startswith("event: "):
            name = line.removeprefix("event: ")
        elif line.startswith("data:"):
            data = line.removeprefix("data:").strip()
        elif line == "" and name:
            stream.events.append((name, data))
            name, data = "", ""
        if stream.events and stream.events[-1][0] == "complete":
            break
        if nexts is not None and len(stream.events) >= nexts and stream.comments >= comments:
            break
    return stream


async def test_a_subscription_over_server_sent_events_streams_next_events(
    sandbox_server: SandboxServerInfo, redis_url: str, redis_prefix: str, http: aiohttp.ClientSession
) -> None:
    body = {"query": INVOICE_EVENTS, "variables": {"org": "org-1"}}
    headers = {"Accept": "text/event-stream", "Authorization": BEARER}
    with serving(sandbox_server, redis_url, redis_prefix, 2, heartbeat_s=0.05) as (first, second):
        async with http.post(f"{first.url}/graphql", json=body, headers=headers) as response:
            await until_listening(first, TOPIC)
            async with publisher(redis_url, redis_prefix) as publish:
                await publish.handle(invoice_event(1))
            stream = await asyncio.wait_for(read_events(response, nexts=1, comments=2), 10)
            status, content_type = response.status, response.headers["content-type"]
        async with http.get(
            f"{second.url}/graphql", params={"query": "{ __typename }"}, headers={"Accept": "text/event-stream"}
        ) as query:
            answered = await asyncio.wait_for(read_events(query), 10)

    assert status == 200
    assert content_type.startswith("text/event-stream")
    assert stream.events[0][0] == "next"
    assert json.loads(stream.events[0][1])["data"]["invoiceEvents"]["id"] == "evt-1"
    assert stream.comments >= 2
    assert answered.events == [("next", '{"data":{"__typename":"Query"}}'), ("complete", "")]


async def test_an_unauthorized_sse_subscription_is_an_error_event_then_complete(
    sandbox_server: SandboxServerInfo, redis_url: str, redis_prefix: str, http: aiohttp.ClientSession
) -> None:
    body = {"query": INVOICE_EVENTS, "variables": {"org": "org-1"}}
    with serving(sandbox_server, redis_url, redis_prefix, 1) as (server,):
        async with http.post(f"{server.url}/graphql", json=body, headers={"Accept": "text/event-stream"}) as response:
            events = (await asyncio.wait_for(read_events(response), 10)).events
        listening = server.app.state.bus.fanout.listens(TOPIC)

    assert [name for name, _ in events] == ["next", "complete"]
    assert json.loads(events[0][1])["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert not listening


async def test_a_subscription_asked_for_as_json_is_refused_with_406(
    sandbox_server: SandboxServerInfo, redis_url: str, redis_prefix: str, http: aiohttp.ClientSession
) -> None:
    body = {"query": INVOICE_EVENTS, "variables": {"org": "org-1"}}
    headers = {"Accept": "application/graphql-response+json", "Authorization": BEARER}
    with serving(sandbox_server, redis_url, redis_prefix, 1) as (server,):
        async with http.post(f"{server.url}/graphql", json=body, headers=headers) as response:
            status, answer = response.status, await response.json(content_type=None)

    assert status == 406
    assert answer["errors"][0]["extensions"]["code"] == "NOT_ACCEPTABLE"


def reference_client() -> tuple[str, Path]:
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.skip("Node.js (node and npm) is needed to run the reference graphql-ws client")
    marker = CLIENT_DIR / "node_modules" / ".package-lock.json"
    lock = CLIENT_DIR / "package-lock.json"
    if not marker.exists() or marker.stat().st_mtime < lock.stat().st_mtime:
        try:
            subprocess.run(  # noqa: S603  (npm from PATH, the committed lock file)
                [npm, "ci", "--no-audit", "--no-fund"], cwd=CLIENT_DIR, check=True, capture_output=True, timeout=300
            )
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as failed:
            pytest.skip(f"npm could not install graphql-ws: {failed}")
    return node, CLIENT_DIR / "subscribe.mjs"


async def run_reference_client(url: str, authorization: str, wanted: int) -> list[dict[str, Any]]:
    node, script = reference_client()
    child = await asyncio.create_subprocess_exec(
        node,
        str(script),
        url.replace("http://", "ws://") + "/graphql",
        authorization,
        INVOICE_EVENTS,
        json.dumps({"org": "org-1"}),
        str(wanted),
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await asyncio.wait_for(child.communicate(), 30)
    return [json.loads(line) for line in out.decode().splitlines() if line]


async def test_the_npm_reference_graphql_ws_client_subscribes_and_receives_an_event(
    sandbox_server: SandboxServerInfo, redis_url: str, redis_prefix: str
) -> None:
    reference_client()
    with serving(sandbox_server, redis_url, redis_prefix, 1) as (server,):
        running = asyncio.create_task(run_reference_client(server.url, BEARER, 1))
        await until_listening(server, TOPIC)
        async with publisher(redis_url, redis_prefix) as publish:
            await publish.handle(invoice_event(4))
        lines = await running
        refused = await run_reference_client(server.url, "Bearer nobody", 1)

    assert lines[0] == {
        "data": {
            "invoiceEvents": {
                "id": "evt-4",
                "type": "invoice.paid",
                "invoiceId": "in-4",
                "orgId": "org-1",
                "version": 4,
                "status": "PAID",
                "occurredAt": "2023-11-14T22:13:24+00:00",
            }
        }
    }
    assert {"closed": 4403, "reason": "Forbidden"} in refused


async def test_a_slow_sse_subscriber_gets_a_last_error_event_and_complete(
    sandbox_server: SandboxServerInfo, redis_url: str, redis_prefix: str
) -> None:
    """The client stops reading; once its 512-event buffer overflows the stream ends with a
    ``SUBSCRIBER_TOO_SLOW`` error, sent when the client reads again."""
    with serving(sandbox_server, redis_url, redis_prefix, 1, buffer=512) as (server,):
        slow = await asyncio.to_thread(stalled_sse_subscriber, server.port)
        await until_listening(server, TOPIC)
        published = 0
        async with publisher(redis_url, redis_prefix) as publish:
            while server.app.state.bus.fanout.listens(TOPIC):
                assert published < 200_000, "the stalled subscriber was never dropped"
                for _ in range(128):
                    published += 1
                    await publish.handle(invoice_event(published, id_bytes=LARGE_ID_BYTES))
                await asyncio.sleep(0.03)
        tail = await asyncio.to_thread(read_to_end, slow)

    last_next, complete = tail.rstrip(b"\n").split(b"\n\n")[-2:]
    assert complete == b"event: complete\ndata:"
    error = json.loads(last_next.removeprefix(b"event: next\ndata: "))
    assert error["errors"][0]["extensions"]["code"] == "SUBSCRIBER_TOO_SLOW"
