"""The middleware that counts every API request and then injects the upstream's active faults."""

from __future__ import annotations

import asyncio
import time

from aiohttp import web
from aiohttp.typedefs import Handler

from sandbox.faults import WindowDecision
from sandbox.stats import route_key
from sandbox.upstream import UPSTREAM_KEY, Upstream

MALFORMED_BODY = b'{"data": [{"id": 1'
"""Truncated JSON: what a client sees when an upstream dies mid-response."""


def is_admin(request: web.Request) -> bool:
    """Admin and discovery endpoints are outside the API: never counted, never faulted."""
    return request.path.startswith("/_sandbox/") or request.path == "/openapi.json"


@web.middleware
async def count_and_inject(request: web.Request, handler: Handler) -> web.StreamResponse:
    if is_admin(request):
        return await handler(request)
    upstream = request.app[UPSTREAM_KEY]
    route = route_key(request)
    upstream.counter.count(route, request.headers.get("traceparent"))
    faults = upstream.faults
    if not faults.applies_to(route, exempt=upstream.exempt):
        return await handler(request)

    decision = upstream.limiter.hit() if upstream.limiter is not None else None
    if decision is not None and not decision.allowed:
        headers = _rate_limit_headers(upstream, decision)
        headers["Retry-After"] = str(decision.reset_s)
        return upstream.error(429, "rate_limited", "Too many requests (sandbox fault).", headers)
    started = time.monotonic()
    wait_s = upstream.pacer.wait_s(route, faults.latency_ms / 1000) if faults.latency_ms else 0.0
    if wait_s:
        await upstream.timer.sleep_until(started + wait_s)
    if faults.hang:
        await asyncio.Event().wait()  # cancelled when the client goes away or the server stops
    if faults.reset_connection:
        await _abort(request)
    if _injects_error(upstream):
        return upstream.error(faults.status, "injected_fault", "Injected failure (sandbox fault).")
    if faults.malformed:
        return web.Response(body=MALFORMED_BODY, content_type="application/json")

    response = await handler(request)
    if faults.latency_ms:
        upstream.pacer.record(route, time.monotonic() - started - wait_s)
    if decision is not None:
        response.headers.update(_rate_limit_headers(upstream, decision))
    return response


def _injects_error(upstream: Upstream) -> bool:
    """The next failure of an error burst, or one drawn at the error rate."""
    if upstream.burst_left > 0:
        upstream.burst_left -= 1
        return True
    rate = upstream.faults.error_rate
    return bool(rate) and upstream.rng.random() < rate


def _rate_limit_headers(upstream: Upstream, decision: WindowDecision) -> dict[str, str]:
    assert upstream.limiter is not None
    return {
        "RateLimit-Policy": upstream.limiter.policy,
        "RateLimit": (f"limit={decision.limit}, remaining={decision.remaining}, reset={decision.reset_s}"),
        "X-RateLimit-Limit": str(decision.limit),
        "X-RateLimit-Remaining": str(decision.remaining),
        "X-RateLimit-Reset": str(decision.reset_epoch),
    }


async def _abort(request: web.Request) -> None:
    """Drop the connection without a response, as a crashing upstream or a middlebox would.

    Losing the transport cancels this handler (the runner enables handler cancellation), so
    nothing is ever written and aiohttp logs no error.
    """
    transport = request.transport
    if transport is not None:
        transport.abort()
    await asyncio.Event().wait()
