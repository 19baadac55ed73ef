"""Fixtures of the gateway tests only."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator, Iterator

import aiohttp
import pytest
from cache_gateway_support import patient_redis, serve
from clock import FakeClock
from differential_support import Executors, differential_settings
from harness import Gateway, GatewayServer, Sandbox, reset_sandbox
from response_cache_support import SandboxServerInfo, client, server

__all__ = ["client", "saved_garbage", "server"]


@pytest.fixture
def saved_garbage() -> Iterator[list[object]]:
    """What the collector finds unreachable from here on, kept for inspection instead of freed."""
    gc.collect()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        yield gc.garbage
    finally:
        gc.set_debug(0)
        gc.garbage.clear()


@pytest.fixture
def redis_gateway_server(
    sandbox_server: SandboxServerInfo, redis_config: dict[str, str], clock: FakeClock
) -> Iterator[GatewayServer]:
    """A gateway on the real Redis (timeouts a loaded machine keeps) with the test's clock."""
    with serve(sandbox_server, clock, redis=patient_redis(redis_config)) as server:
        yield server


@pytest.fixture
async def cached_gateway(redis_gateway_server: GatewayServer, sandbox: Sandbox, http: aiohttp.ClientSession) -> Gateway:
    """A gateway on the real Redis under the test's own prefix (so it starts cold), its clock faked."""
    gateway = Gateway(url=redis_gateway_server.url, http=http)
    await gateway.query('{ user(id: "user-1") { id } }')  # the sandbox reset revoked the token: fetch a new one
    return gateway


@pytest.fixture(scope="module")
async def executors(sandbox_server: SandboxServerInfo, http: aiohttp.ClientSession) -> AsyncIterator[Executors]:
    """A planned and a stock gateway side by side on the sandbox (``differential_support``), one
    pair a test module."""
    urls, credentials = sandbox_server
    with (
        GatewayServer(differential_settings(sandbox_server, planned=True)) as planned,
        GatewayServer(differential_settings(sandbox_server, planned=False)) as stock,
    ):
        sandbox = await reset_sandbox(urls, credentials, http)
        yield Executors(planned, stock, sandbox)
        await sandbox.reset()
