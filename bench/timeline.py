"""A lone request's timeline: when each upstream call went out and came back, from the request's start.

``bench.profile_dashboard --timeline`` wraps aiohttp's ``ClientSession._request`` (the gateway's
upstream client, pure Python, so the wrapper sees every call) for the timed requests only. Per
request it keeps the times of each send and each answer (body read), then prints the median of
each event across requests, in order: where the critical path goes between the request's start,
the first send, the answers that gate the next level, and the response.
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
        self.mark("response")
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
