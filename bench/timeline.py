"""A lone request's timeline: when each upstream call went out and came back, from the request's start.

``bench.profile_dashboard --timeline`` wraps aiohttp's ``ClientSession._request`` (the gateway's
upstream client, pure Python, so the wrapper sees every call) for the timed requests only. Per
request it keeps the times of each send and each answer (body read), and those the caller marks
(``response start`` and ``response body``: the ASGI messages sent; ``end``: the app returned), then
prints the median of each event across requests, in order, and the medians of each request's own
critical-path segments: from the start to the first send, from the answer that gates the last send
to that send, from the last answer to the response body, and from the body to the app's return.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import aiohttp


class Timeline:
    """The events of the current request, and those of every request before it."""

    def __init__(self) -> None:
        self.started = 0.0
        self.events: list[tuple[str, float]] = []
        self.requests: list[list[tuple[str, float]]] = []

    def start(self) -> None:
        self.started = time.perf_counter()
        self.events = []

    def mark(self, event: str) -> None:
        self.events.append((event, time.perf_counter() - self.started))

    def end(self) -> None:
        self.mark("end")
        self.requests.append(self.events)

    @contextmanager
    def recording(self) -> Iterator[None]:
        """Wrap the upstream client's requests so that each marks its send and its answer."""
        original = aiohttp.ClientSession._request

        async def request(session: aiohttp.ClientSession, method: str, url: Any, **kwargs: Any) -> Any:
            path = f"{url.host}:{url.port}{url.path}"
            self.mark(f"send {method} {path}")
            response = await original(session, method, url, **kwargs)
            await response.read()
            self.mark(f"answer {method} {path}")
            return response

        aiohttp.ClientSession._request = request  # type: ignore[method-assign,assignment]
        try:
            yield
        finally:
            aiohttp.ClientSession._request = original  # type: ignore[method-assign]

    def summary(self) -> str:
        """Each event's median time from the request's start (ms), in order; repeated events of one
        request (two calls to one path) are numbered. Medians of separate events: two close ones
        may come in the other order in a given request."""
        times: dict[str, list[float]] = {}
        for events in self.requests:
            seen: dict[str, int] = {}
            for event, at in events:
                seen[event] = seen.get(event, 0) + 1
                name = event if seen[event] == 1 else f"{event} #{seen[event]}"
                times.setdefault(name, []).append(at * 1000)
        rows = sorted((statistics.median(ats), name, len(ats)) for name, ats in times.items())
        return "\n".join(f"{median:8.2f} ms  {name} (n={count})" for median, name, count in rows)

    def segments(self) -> str:
        """Each request's own critical-path segments (ms), as median and p10-p90 across requests;
        a request without sends (answered from a cache) has none."""
        spans: dict[str, list[float]] = {name: [] for name in SEGMENTS}
        for events in self.requests:
            for name, ms in _segments(events).items():
                spans[name].append(ms)
        rows = []
        for name, values in spans.items():
            if values:
                values.sort()
                p10, p90 = values[len(values) // 10], values[len(values) * 9 // 10]
                rows.append(
                    f"{statistics.median(values):8.2f} ms  {name} (p10 {p10:.2f}, p90 {p90:.2f}, n={len(values)})"
                )
        return "\n".join(rows)


SEGMENTS = ("start -> first send", "gating answer -> last send", "last answer -> response body", "response body -> end")


def _segments(events: list[tuple[str, float]]) -> dict[str, float]:
    """One request's segments (ms): the answer gating the last send is the latest one before it."""
    sends = [at for event, at in events if event.startswith("send ")]
    answers = [at for event, at in events if event.startswith("answer ")]
    marks = {event: at for event, at in events if not event.startswith(("send ", "answer "))}
    if not sends or not answers or "response body" not in marks:
        return {}
    last_send = sends[-1]
    gating = [at for at in answers if at <= last_send]
    found = {
        "start -> first send": sends[0],
        "last answer -> response body": marks["response body"] - answers[-1],
        "response body -> end": marks["end"] - marks["response body"],
    }
    if gating:
        found["gating answer -> last send"] = last_send - gating[-1]
    return {name: ms * 1000 for name, ms in found.items()}
