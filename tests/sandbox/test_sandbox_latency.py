"""The latency fault is the upstream's response time: the sandbox's own work counts toward it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from sandbox.admin import upstream_app
from sandbox.faults import PACER_WINDOW, LatencyPacer
from sandbox.upstream import Upstream

LATENCY_S = 0.08
WORK_S = 0.05
"""What the slow route's handler takes after the wait (an `await`, so it costs no CPU)."""
ROUTE = "GET /slow"


def _error(status: int, code: str, message: str) -> dict[str, object]:
    return {"error": {"status": status, "code": code, "message": message}}


async def _slow(_request: web.Request) -> web.Response:
    await asyncio.sleep(WORK_S)
    return web.json_response({"ok": True})


@pytest.fixture
async def slow_upstream() -> AsyncIterator[tuple[str, Upstream]]:
    upstream = Upstream(error_body=_error, reset_state=lambda: None)
    app = upstream_app(upstream)
    app.router.add_get("/slow", _slow)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        yield str(server.make_url("")), upstream
    finally:
        await server.close()


async def _timed_get(http: aiohttp.ClientSession, url: str) -> float:
    started = time.perf_counter()
    async with http.get(url) as response:
        assert response.status == 200
        await response.read()
    return time.perf_counter() - started


async def test_answers_take_the_configured_latency_once_the_route_is_known(
    slow_upstream: tuple[str, Upstream], http: aiohttp.ClientSession
) -> None:
    base, upstream = slow_upstream
    async with http.post(f"{base}/_sandbox/faults", json={"latency_ms": LATENCY_S * 1000}) as response:
        assert response.status == 200
    first = [await _timed_get(http, f"{base}/slow") for _ in range(PACER_WINDOW)]
    assert min(first) >= LATENCY_S + WORK_S * 0.9  # the wait, then the work: never early
    paced = await _timed_get(http, f"{base}/slow")
    assert LATENCY_S * 0.9 <= paced < LATENCY_S + WORK_S * 0.8

    async with http.post(f"{base}/_sandbox/reset") as response:
        assert response.status == 200
    assert upstream.faults.latency_ms == 0
    async with http.post(f"{base}/_sandbox/faults", json={"latency_ms": LATENCY_S * 1000}) as response:
        assert response.status == 200
    assert await _timed_get(http, f"{base}/slow") >= LATENCY_S + WORK_S * 0.9  # reset forgot the estimate


async def test_without_latency_the_pacer_learns_nothing(
    slow_upstream: tuple[str, Upstream], http: aiohttp.ClientSession
) -> None:
    base, upstream = slow_upstream
    for _ in range(3):
        await _timed_get(http, f"{base}/slow")
    assert upstream.pacer.wait_s(ROUTE, LATENCY_S) == LATENCY_S


def test_the_pacer_waits_in_full_until_it_has_a_window_of_requests() -> None:
    pacer = LatencyPacer()
    for _ in range(PACER_WINDOW - 1):
        pacer.record(ROUTE, 0.004)
    assert pacer.wait_s(ROUTE, 0.02) == 0.02
    pacer.record(ROUTE, 0.004)
    assert pacer.wait_s(ROUTE, 0.02) == pytest.approx(0.016)
    assert pacer.wait_s("GET /other", 0.02) == 0.02


def test_the_pacer_takes_the_smallest_recent_excess_and_never_waits_less_than_nothing() -> None:
    pacer = LatencyPacer()
    for excess in [0.004] * (PACER_WINDOW - 1) + [0.003]:
        pacer.record(ROUTE, excess)
    pacer.record(ROUTE, 0.5)  # a slow moment does not make the next answers early
    assert pacer.wait_s(ROUTE, 0.02) == pytest.approx(0.017)
    for _ in range(PACER_WINDOW):
        pacer.record(ROUTE, 0.03)
    assert pacer.wait_s(ROUTE, 0.02) == 0.0
    pacer.record(ROUTE, -0.001)  # a timer that fired early counts as no excess
    assert pacer.wait_s(ROUTE, 0.02) == 0.02
    pacer.reset()
    assert pacer.wait_s(ROUTE, 0.02) == 0.02
