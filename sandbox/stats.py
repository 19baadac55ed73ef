"""Per-upstream request counters, keyed by method and route template, and the W3C trace context
(``traceparent``) the latest requests carried, so tests can follow a trace into the upstreams."""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass, field

from aiohttp import web


def route_key(request: web.Request) -> str:
    """`"GET /v1/users/{id}"` for a matched route; the raw path for an unmatched one."""
    resource = request.match_info.route.resource
    template = resource.canonical if resource is not None else request.path
    return f"{request.method} {template}"


TRACEPARENTS_KEPT = 200
_TRACEPARENT_MAX = 64  # a version-00 traceparent is 55 characters; longer text is cut, not kept whole


@dataclass(slots=True)
class RequestCounter:
    """Counts API requests that reached the server, whatever their outcome, and keeps the
    ``traceparent`` of the latest ones that sent it (shown in stats only once one did)."""

    routes: Counter[str] = field(default_factory=Counter)
    traceparents: deque[dict[str, str]] = field(default_factory=lambda: deque(maxlen=TRACEPARENTS_KEPT))

    def count(self, route: str, traceparent: str | None = None) -> None:
        self.routes[route] += 1
        if traceparent is not None:
            self.traceparents.append({"route": route, "traceparent": traceparent[:_TRACEPARENT_MAX]})

    def reset(self) -> None:
        self.routes.clear()
        self.traceparents.clear()

    def snapshot(self) -> dict[str, object]:
        snapshot: dict[str, object] = {"requests": self.routes.total(), "routes": dict(sorted(self.routes.items()))}
        if self.traceparents:
            snapshot["traceparents"] = list(self.traceparents)
        return snapshot
