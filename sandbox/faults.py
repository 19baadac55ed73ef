"""The fault model an upstream's admin API accepts, and the fixed-window limiter it drives.

A `FaultSet` is validated strictly (unknown keys are an error) so a typo in a benchmark's fault
configuration fails loudly instead of silently injecting nothing.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from pydantic import BaseModel, ConfigDict, Field


class RateLimitFault(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    limit: int = Field(ge=0)
    window_s: float = Field(gt=0)


class FaultSet(BaseModel):
    """Faults applied to an upstream's API requests; the defaults inject nothing."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    latency_ms: float = Field(default=0, ge=0, le=600_000)
    error_rate: float = Field(default=0, ge=0, le=1)
    status: int = Field(default=503, ge=400, le=599)
    error_burst: int = Field(default=0, ge=0, le=100_000)
    """The next `error_burst` requests fail with `status`, then the upstream recovers."""
    hang: bool = False
    malformed: bool = False
    reset_connection: bool = False
    rate_limit: RateLimitFault | None = None
    routes: frozenset[str] | None = None
    """Route keys (`"GET /v1/users"`) the faults apply to; None means every faultable route."""

    def applies_to(self, route: str, *, exempt: frozenset[str]) -> bool:
        if self.routes is None:
            return route not in exempt
        return route in self.routes

    def public(self) -> dict[str, object]:
        """The active faults as the admin API reports them (defaults omitted)."""
        data = self.model_dump(mode="json", exclude_defaults=True)
        if "routes" in data:
            data["routes"] = sorted(data["routes"])
        return data


@dataclass(frozen=True, slots=True)
class WindowDecision:
    allowed: bool
    limit: int
    remaining: int
    reset_s: int
    """Whole seconds until the window resets (at least 1)."""
    reset_epoch: int


@dataclass(slots=True)
class FixedWindowLimiter:
    """Counts requests per fixed window of `window_s` seconds of the injected wall clock."""

    limit: int
    window_s: float
    clock: Callable[[], float]
    _window: int = field(default=-1, init=False)
    _count: int = field(default=0, init=False)

    def hit(self) -> WindowDecision:
        now = self.clock()
        window = math.floor(now / self.window_s)
        if window != self._window:
            self._window, self._count = window, 0
        self._count += 1
        end = (window + 1) * self.window_s
        allowed = self._count <= self.limit
        return WindowDecision(
            allowed=allowed,
            limit=self.limit,
            remaining=max(0, self.limit - self._count),
            reset_s=max(1, math.ceil(end - now)),
            reset_epoch=math.ceil(end),
        )

    @property
    def policy(self) -> str:
        """The `RateLimit-Policy` value, e.g. `10;w=1`."""
        window = int(self.window_s) if float(self.window_s).is_integer() else self.window_s
        return f"{self.limit};w={window}"


PACER_WINDOW = 16
"""How many of a route's latest requests `LatencyPacer` takes its estimate from."""


@dataclass(slots=True)
class LatencyPacer:
    """Makes an API answer take the configured latency, the sandbox's own time included.

    The latency fault stands for the upstream's response time. The sandbox waits before running the
    handler (so a client that gives up meanwhile never reaches it), and what comes after the wait
    (the timer's lateness, the handler's work: several milliseconds for a large GraphQL selection)
    would come on top of the configured figure. Per route, once it has seen `PACER_WINDOW` requests,
    the pacer shortens the wait by the smallest such excess among the route's last `PACER_WINDOW`:
    the smallest, so that a slow moment (a busy machine, a first request) never makes the next
    answers early.
    """

    excess_s: dict[str, deque[float]] = field(default_factory=dict)

    def wait_s(self, route: str, latency_s: float) -> float:
        """How long to wait before running the handler of `route` for an answer in `latency_s`."""
        recent = self.excess_s.get(route)
        if recent is None or len(recent) < PACER_WINDOW:
            return latency_s
        return max(0.0, latency_s - min(recent))

    def record(self, route: str, excess_s: float) -> None:
        """`excess_s`: the time from the start of the wait to the handler's answer, minus the wait."""
        recent = self.excess_s.get(route)
        if recent is None:
            recent = self.excess_s[route] = deque(maxlen=PACER_WINDOW)
        recent.append(max(0.0, excess_s))

    def reset(self) -> None:
        self.excess_s.clear()
