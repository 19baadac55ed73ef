"""The benchmark's floors (bench/floor.py) against the real sandbox: `floor-bytes` answers Mobius's
own bytes, `floor-io` makes the upstream requests Mobius makes for the same dashboard first."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import aiohttp
import pytest
from harness import ADMIN_HEADERS, Gateway, Sandbox, upstream_requests

from bench.floor import Answer, BytesApp, Credentials, FloorConfig, IoApp, Message
from bench.workloads import Workload, workloads

COLD_DASHBOARDS = {w.name: w for w in workloads() if w.plan is not None and not w.variant}


def floor_config(sandbox: Sandbox, answers: dict[bytes, Answer]) -> FloorConfig:
    c = sandbox.credentials
    credentials = Credentials(
        identity_client_id=c.identity.client_id,
        identity_client_secret=c.identity.client_secret,
        billing_api_key=c.billing.api_key,
        billing_signing_secret=c.billing.signing_secret,
        projects_token=c.projects.token,
    )
    return FloorConfig(answers, {name: sandbox.url(name) for name in ("identity", "billing", "projects")}, credentials)


class Asgi:
    """Drives an ASGI app the way uvicorn does: a lifespan running beside one request per `post`."""

    def __init__(self, app: BytesApp) -> None:
        self.app = app
        self.incoming: asyncio.Queue[Message] = asyncio.Queue()
        self.outgoing: asyncio.Queue[Message] = asyncio.Queue()
        self.lifespan: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.lifespan = asyncio.create_task(self.app({"type": "lifespan"}, self.incoming.get, self.outgoing.put))
        await self.incoming.put({"type": "lifespan.startup"})
        assert (await self.outgoing.get())["type"] == "lifespan.startup.complete"

    async def stop(self) -> None:
        if self.lifespan is not None:
            await self.incoming.put({"type": "lifespan.shutdown"})
            await self.lifespan
            assert (await self.outgoing.get())["type"] == "lifespan.shutdown.complete"

    async def post(self, body: bytes) -> tuple[int, bytes]:
        parts: list[Message] = [
            {"type": "http.request", "body": body[:10], "more_body": True},
            {"type": "http.request", "body": body[10:], "more_body": False},
        ]
        sent: list[Message] = []

        async def receive() -> Message:
            return parts.pop(0)

        async def send(message: Message) -> None:
            sent.append(message)

        await self.app({"type": "http", "method": "POST", "path": "/graphql"}, receive, send)
        start, payload = sent
        headers = dict(start["headers"])
        assert headers[b"content-length"] == str(len(payload["body"])).encode()
        return start["status"], payload["body"]


def body_of(workload: Workload) -> bytes:
    return json.dumps(workload.body()).encode()


async def mobius_answer(gateway: Gateway, http: aiohttp.ClientSession, workload: Workload) -> bytes:
    async with http.post(f"{gateway.url}/graphql", data=body_of(workload), headers=JSON) as response:
        assert response.status == 200
        return await response.read()


JSON = {"content-type": "application/json"}


@pytest.fixture
async def floors() -> AsyncIterator[dict[str, Asgi]]:
    apps: dict[str, Asgi] = {}
    yield apps
    for app in apps.values():
        await app.stop()


@pytest.mark.parametrize("name", sorted(COLD_DASHBOARDS))
async def test_floor_io_makes_the_upstream_requests_mobius_makes_and_answers_its_bytes(
    name: str, gateway: Gateway, sandbox: Sandbox, http: aiohttp.ClientSession, floors: dict[str, Asgi]
) -> None:
    workload = COLD_DASHBOARDS[name]
    await mobius_answer(gateway, http, workload)  # its upstream tokens, revoked by the sandbox's reset
    async with http.post(f"{gateway.url}/admin/cache/invalidate", json={"all": True}, headers=ADMIN_HEADERS) as done:
        assert done.status == 200
    before = await sandbox.api_requests()
    expected = await mobius_answer(gateway, http, workload)
    after = await sandbox.api_requests()
    mobius_requests = {upstream: after[upstream] - before[upstream] for upstream in after}
    assert "errors" not in json.loads(expected)

    floor = floors["io"] = Asgi(IoApp(floor_config(sandbox, {body_of(workload): Answer(expected, workload.plan)})))
    await floor.start()
    before = await sandbox.api_requests()
    status, answer = await floor.post(body_of(workload))
    after = await sandbox.api_requests()

    assert (status, answer) == (200, expected)
    assert {upstream: after[upstream] - before[upstream] for upstream in after} == mobius_requests
    if name == "dashboard":
        assert mobius_requests == upstream_requests(identity=3, billing=3, projects=1)


async def test_floor_bytes_answers_the_prebuilt_bytes_without_an_upstream_request(
    gateway: Gateway, sandbox: Sandbox, http: aiohttp.ClientSession, floors: dict[str, Asgi]
) -> None:
    dashboard = COLD_DASHBOARDS["dashboard"]
    expected = await mobius_answer(gateway, http, dashboard)
    floor = floors["bytes"] = Asgi(BytesApp(floor_config(sandbox, {body_of(dashboard): Answer(expected, None)})))
    await floor.start()
    before = await sandbox.api_requests()

    assert await floor.post(body_of(dashboard)) == (200, expected)
    assert await sandbox.api_requests() == before


async def test_a_body_the_floor_was_not_given_is_refused_before_any_upstream_request(
    sandbox: Sandbox, floors: dict[str, Asgi]
) -> None:
    dashboard = COLD_DASHBOARDS["dashboard"]
    floor = floors["io"] = Asgi(IoApp(floor_config(sandbox, {body_of(dashboard): Answer(b"{}", dashboard.plan)})))
    await floor.start()
    before = await sandbox.api_requests()

    status, answer = await floor.post(body_of(dashboard).replace(b"org-1", b"org-2"))

    assert status == 400
    assert b"unknown request body" in answer
    assert await sandbox.api_requests() == before


def test_the_config_the_bench_writes_reads_back_the_same() -> None:
    dashboard = COLD_DASHBOARDS["dashboard"]
    credentials = Credentials("id", "secret", "key", "signing", "token")
    config = FloorConfig({body_of(dashboard): Answer(b'{"data":{}}', dashboard.plan)}, {"identity": "x"}, credentials)

    assert FloorConfig.from_json(config.to_json()) == config
