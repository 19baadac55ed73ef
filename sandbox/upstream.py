"""What every sandbox upstream shares: its counters, its faults and how it words an error."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiohttp import web

from sandbox.answers import RestAnswers
from sandbox.faults import FaultSet, FixedWindowLimiter, LatencyPacer
from sandbox.fine_timer import FineTimer
from sandbox.keyring import RotatingSecret
from sandbox.stats import RequestCounter

JSON = dict[str, Any]
ErrorBody = Callable[[int, str, str], JSON]
"""(status, code, message) -> the upstream's JSON error envelope."""
Clock = Callable[[], float]


def json_response(payload: Any, *, status: int = 200, headers: Mapping[str, str] | None = None) -> web.Response:
    """``web.json_response`` serialized by orjson: the sandbox stands in for upstreams that answer
    fast, so its own encoding should not weigh on a benchmark."""
    return web.Response(body=orjson.dumps(payload), status=status, headers=headers, content_type="application/json")


"""Wall-clock seconds since the epoch; injectable so tests control windows, expiry and signatures."""

UPSTREAM_KEY: web.AppKey[Upstream] = web.AppKey("sandbox_upstream")


@dataclass(slots=True, eq=False)
class Upstream:
    """Runtime state of one upstream outside its domain data (counters, faults, reset hook)."""

    error_body: ErrorBody
    reset_state: Callable[[], None]
    exempt: frozenset[str] = frozenset()
    """Route keys faults skip unless a fault's `routes` names them (e.g. the token endpoint)."""
    clock: Clock = time.time
    fault_seed: int = 0
    counter: RequestCounter = field(default_factory=RequestCounter)
    faults: FaultSet = field(default_factory=FaultSet)
    limiter: FixedWindowLimiter | None = None
    pacer: LatencyPacer = field(default_factory=LatencyPacer)
    timer: FineTimer = field(default_factory=FineTimer)
    """The latency fault's waits: on time to the tenth of a millisecond (the loop's timers count milliseconds)."""
    burst_left: int = 0
    keyrings: dict[str, RotatingSecret] = field(default_factory=dict)
    """The credentials this upstream accepts, by name, rotatable through `/_sandbox/rotate`."""
    reset_hooks: list[Callable[[], None]] = field(default_factory=list)
    """What else `/_sandbox/reset` clears: parts attached to the app after it was made (a broker publisher)."""
    answers: RestAnswers = field(default_factory=RestAnswers)
    """Kept answers of the routes that declare them; the upstream forgets them whenever its data changes."""
    rng: random.Random = field(init=False)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.fault_seed)

    def set_faults(self, faults: FaultSet) -> None:
        self.faults = faults
        self.burst_left = faults.error_burst
        limit = faults.rate_limit
        self.limiter = (
            None if limit is None else FixedWindowLimiter(limit=limit.limit, window_s=limit.window_s, clock=self.clock)
        )

    def reset(self) -> None:
        self.counter.reset()
        self.answers.forget()
        self.set_faults(FaultSet())
        self.pacer.reset()
        self.rng = random.Random(self.fault_seed)
        for keyring in self.keyrings.values():
            keyring.reset()
        self.reset_state()
        for hook in self.reset_hooks:
            hook()

    def error(self, status: int, code: str, message: str, headers: Mapping[str, str] | None = None) -> web.Response:
        return json_response(self.error_body(status, code, message), status=status, headers=headers)
