"""The shared test harness: the real sandbox upstreams and a real gateway, both on loopback.

The sandbox runs in a thread with its own event loop (like httpx's test server); each gateway
runs under uvicorn in its own thread, so tests talk HTTP to both exactly as users do.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import uvicorn
from canary import CANARY_CALLER_TOKEN, CANARY_CREDENTIALS
from gql import Client, GraphQLRequest
from gql.transport.websockets import WebsocketsTransport

from mobius.app import create_app
from mobius.demo import demo_settings
from mobius.settings import Settings
from sandbox import SandboxCredentials, SandboxServer, SandboxUrls, default_registry

DASHBOARD_QUERY = (Path(__file__).parents[1] / "bench" / "queries" / "dashboard.graphql").read_text()
"""The reference dashboard, shared with the benchmark."""
ADMIN_HEADERS = {"Authorization": f"Bearer {CANARY_CALLER_TOKEN}"}
CLIENT_KEEPALIVE_S = 15.0
"""How long the tests' HTTP client reuses an idle connection (aiohttp's default, stated): shorter
than a gateway keeps one open (``server.keep_alive_s``, 75 s), so the client never sends a request
on a connection the server is closing (uvicorn's own 5 s made a test whose client idled about 5 s
-- a busy machine -- fail with "Server disconnected" or "Cannot write to closing transport")."""
SHUTDOWN_GRACE_S = 1
"""How long a test gateway that is stopping waits for requests still in flight before it cancels
them. A test stops its gateways once it has its answers; what is left in flight then is a stream
whose client is gone (its close waits on the test's event loop, which the stop blocks) or a call
held by a fault, and the default (wait for them, for ever) held each such stop for the 10 s the
join allows, leaving the gateway's thread running."""


def upstream_requests(**counts: int) -> dict[str, int]:
    """API request counts as ``Sandbox.api_requests`` reports them: every sandbox upstream, 0 unless given."""
    names = default_registry().names()
    unknown = sorted(set(counts) - set(names))
    assert not unknown, f"no sandbox upstreams {unknown}"
    return {name: counts.get(name, 0) for name in names}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class GatewayServer:
    """A gateway under uvicorn in a background thread (``app_options`` go to ``create_app``)."""

    def __init__(self, settings: Settings, **app_options: Any) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.app = create_app(settings, **app_options)
        config = uvicorn.Config(
            self.app,
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            lifespan="on",
            loop="asyncio",
            timeout_keep_alive=settings.server.keep_alive_s,
            timeout_graceful_shutdown=SHUTDOWN_GRACE_S,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    def __enter__(self) -> GatewayServer:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("gateway did not start")
            time.sleep(0.01)
        return self

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The loop the gateway runs on (a test calls into the app through it)."""
        return self._server.servers[0].get_loop()

    def __exit__(self, *_: object) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        if self._thread.is_alive():
            raise RuntimeError("gateway did not stop")


@dataclass
class Sandbox:
    urls: SandboxUrls
    credentials: SandboxCredentials
    http: aiohttp.ClientSession

    def url(self, upstream: str) -> str:
        return self.urls[upstream]

    async def reset(self) -> None:
        for upstream in self.urls:
            async with self.http.post(f"{self.url(upstream)}/_sandbox/reset") as response:
                assert response.status == 200

    async def faults(self, upstream: str, **faults: Any) -> None:
        async with self.http.post(f"{self.url(upstream)}/_sandbox/faults", json=faults) as response:
            assert response.status == 200, await response.text()

    async def admin(self, upstream: str, action: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        """POST ``/_sandbox/<action>`` (rotate, end-overlap, revoke-tokens, token-lifetime)."""
        async with self.http.post(f"{self.url(upstream)}/_sandbox/{action}", json=body or {}) as response:
            assert response.status == 200, await response.text()
            payload: dict[str, Any] = await response.json()
            return payload

    async def rotate(self, upstream: str, credential: str, value: str, *, overlap_s: float = 0) -> dict[str, Any]:
        return await self.admin(upstream, "rotate", {"credential": credential, "value": value, "overlap_s": overlap_s})

    async def key_stats(self, upstream: str, credential: str) -> dict[str, Any]:
        """Requests accepted per key id (and refused) for one credential of ``upstream``."""
        stats: dict[str, Any] = (await self.stats(upstream))["credentials"][credential]
        return stats

    async def stats(self, upstream: str) -> dict[str, Any]:
        async with self.http.get(f"{self.url(upstream)}/_sandbox/stats") as response:
            payload: dict[str, Any] = await response.json()
            return payload

    async def api_requests(self) -> dict[str, int]:
        """API requests per upstream, requests for credentials (tokens) excluded."""
        counts = {}
        for upstream in default_registry():
            stats = await self.stats(upstream.name)
            issued = sum(stats["routes"].get(route, 0) for route in upstream.auth_routes)
            counts[upstream.name] = stats["requests"] - issued
        return counts

    async def mint_token(self, **request: Any) -> str:
        """A caller JWT from the sandbox identity provider (``sub``, ``scopes``, ``ttl_s``, ``claims`` ...)."""
        token: str = (await self.admin("identity", "tokens", request))["access_token"]
        return token


@dataclass
class Gateway:
    url: str
    http: aiohttp.ClientSession

    async def query(
        self, query: str, variables: dict[str, Any] | None = None, *, headers: dict[str, str] | None = None
    ) -> dict[str, Any]:
        payload = {"query": query, "variables": variables or {}}
        async with self.http.post(f"{self.url}/graphql", json=payload, headers=headers) as response:
            assert response.status == 200, await response.text()
            result: dict[str, Any] = await response.json()
            return result


@pytest.fixture(scope="session")
def sandbox_server() -> Iterator[tuple[SandboxUrls, SandboxCredentials]]:
    credentials = CANARY_CREDENTIALS
    with SandboxServer(credentials=credentials) as urls:
        yield urls, credentials


@pytest.fixture(scope="session")
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    connector = aiohttp.TCPConnector(keepalive_timeout=CLIENT_KEEPALIVE_S)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=30)) as session:
        yield session


@pytest.fixture
async def sandbox(sandbox_server: tuple[SandboxUrls, SandboxCredentials], http: aiohttp.ClientSession) -> Sandbox:
    """The sandbox, reset (counters, faults, data) before each test."""
    urls, credentials = sandbox_server
    return await reset_sandbox(urls, credentials, http)


def gateway_settings(sandbox_server: tuple[SandboxUrls, SandboxCredentials], **overrides: Any) -> Settings:
    urls, credentials = sandbox_server
    return demo_settings(urls, credentials, caller_token=CANARY_CALLER_TOKEN, **overrides)


@pytest.fixture(scope="session")
def gateway_server(sandbox_server: tuple[SandboxUrls, SandboxCredentials]) -> Iterator[GatewayServer]:
    with GatewayServer(gateway_settings(sandbox_server)) as server:
        yield server


@pytest.fixture
async def gateway(gateway_server: GatewayServer, sandbox: Sandbox, http: aiohttp.ClientSession) -> Gateway:
    """The shared gateway, with a freshly reset sandbox, an empty cache and fresh resilience state
    (closed breakers, full retry budgets, nothing learned about rate limits) behind it."""
    return await fresh_gateway(gateway_server, http)


async def reset_sandbox(urls: SandboxUrls, credentials: SandboxCredentials, http: aiohttp.ClientSession) -> Sandbox:
    """A client of the sandbox at ``urls``, which it has reset (counters, faults, data)."""
    box = Sandbox(urls=urls, credentials=credentials, http=http)
    await box.reset()
    return box


async def fresh_gateway(server: GatewayServer, http: aiohttp.ClientSession, *, empty_cache: bool = True) -> Gateway:
    """A client of ``server``, which it has given fresh resilience state (closed breakers, full retry
    budgets, nothing learned about rate limits) and, unless ``empty_cache`` is false, an empty cache."""
    await server.app.state.upstreams.reset_resilience()
    if empty_cache:
        async with http.post(
            f"{server.url}/admin/cache/invalidate", json={"all": True}, headers=ADMIN_HEADERS
        ) as response:
            assert response.status == 200, await response.text()
    return Gateway(url=server.url, http=http)


async def first_subscription_event(url: str, document: str, variables: dict[str, Any]) -> dict[str, Any]:
    """The first event the canary caller receives over a websocket subscription to ``document`` (one
    root field) on the gateway at ``url``: that field's value."""
    transport = WebsocketsTransport(url=url.replace("http://", "ws://") + "/graphql", init_payload=ADMIN_HEADERS)
    async with Client(transport=transport) as session:
        async for result in session.subscribe(GraphQLRequest(document, variable_values=variables)):
            (event,) = result.values()
            found: dict[str, Any] = event
            return found
    raise AssertionError("the subscription ended without an event")
