"""Per-upstream request counters, keyed by method and route template."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from aiohttp import web


def route_key(request: web.Request) -> str:
    """`"GET /v1/users/{id}"` for a matched route; the raw path for an unmatched one."""
    resource = request.match_info.route.resource
    template = resource.canonical if resource is not None else request.path
    return f"{request.method} {template}"


@dataclass(slots=True)
class RequestCounter:
    """Counts API requests that reached the server, whatever their outcome."""

    routes: Counter[str] = field(default_factory=Counter)

    def count(self, route: str) -> None:
        self.routes[route] += 1

    def reset(self) -> None:
        self.routes.clear()

    def snapshot(self) -> dict[str, object]:
        return {"requests": self.routes.total(), "routes": dict(sorted(self.routes.items()))}
