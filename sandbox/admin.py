"""The admin API every upstream serves under `/_sandbox/`, and the app skeleton that carries it.

Admin endpoints sit outside the API: they are not authenticated, counted or faulted.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from aiohttp import web
from aiohttp.typedefs import Middleware
from pydantic import ValidationError

from sandbox.credential_admin import add_credential_routes
from sandbox.faults import FaultSet
from sandbox.injection import count_and_inject
from sandbox.upstream import UPSTREAM_KEY, Upstream, json_response


def upstream_app(upstream: Upstream, middlewares: Iterable[Middleware] = ()) -> web.Application:
    """An application with the counting/fault middleware outermost and the admin routes mounted."""
    app = web.Application(middlewares=[count_and_inject, *middlewares])
    app[UPSTREAM_KEY] = upstream
    app.on_cleanup.append(_close_timer)
    app.router.add_get("/_sandbox/stats", _stats)
    app.router.add_post("/_sandbox/reset", _reset)
    app.router.add_get("/_sandbox/faults", _get_faults)
    app.router.add_post("/_sandbox/faults", _set_faults)
    add_credential_routes(app)
    return app


def api_routes(app: web.Application) -> set[str]:
    """The route keys of the API (what stats count and what a fault's `routes` may name)."""
    keys: set[str] = set()
    for route in app.router.routes():
        canonical = route.resource.canonical if route.resource is not None else ""
        if route.method not in {"HEAD", "*"} and not canonical.startswith("/_sandbox/"):
            keys.add(f"{route.method} {canonical}")
    return keys - {"GET /openapi.json"}


async def _close_timer(app: web.Application) -> None:
    app[UPSTREAM_KEY].timer.close()


async def _stats(request: web.Request) -> web.Response:
    upstream = request.app[UPSTREAM_KEY]
    snapshot = upstream.counter.snapshot()
    if upstream.keyrings:
        snapshot["credentials"] = {name: ring.stats() for name, ring in sorted(upstream.keyrings.items())}
    return json_response(snapshot)


async def _reset(request: web.Request) -> web.Response:
    request.app[UPSTREAM_KEY].reset()
    return json_response({"ok": True})


async def _get_faults(request: web.Request) -> web.Response:
    return json_response(request.app[UPSTREAM_KEY].faults.public())


async def _set_faults(request: web.Request) -> web.Response:
    upstream = request.app[UPSTREAM_KEY]
    try:
        raw = await request.json()
    except json.JSONDecodeError as exc:
        return _invalid(f"Fault body is not JSON: {exc}")
    if not isinstance(raw, dict):
        return _invalid('Fault body must be a JSON object, e.g. {"latency_ms": 20}.')
    try:
        faults = FaultSet.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in err['loc']) or 'body'}: {err['msg']}" for err in exc.errors())
        return _invalid(f"Invalid faults: {problems}")
    unknown = sorted((faults.routes or frozenset()) - api_routes(request.app))
    if unknown:
        known = ", ".join(sorted(api_routes(request.app)))
        return _invalid(f"Unknown routes {unknown}; known routes: {known}")
    upstream.set_faults(faults)
    return json_response(faults.public())


def _invalid(message: str) -> web.Response:
    return json_response({"error": {"code": "invalid_faults", "message": message}}, status=400)
