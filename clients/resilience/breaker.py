"""A circuit breaker with resilience4j's semantics, for one upstream in one process.

CLOSED records outcomes in a sliding window (the last N calls, or the last N seconds); once it
holds ``minimum_calls`` and the failure rate or the slow-call rate reaches its threshold, the
breaker OPENs. After ``open_s`` the next caller finds it HALF_OPEN: exactly
``half_open_probes`` calls are admitted (a cancelled probe gives its slot back); when all have
reported, the breaker CLOSEs or re-OPENs on their rates. Every transition starts a new
generation, so a result from a call admitted before it is ignored. An operator may force it OPEN
or CLOSED (``force``): outcomes are then not judged until it is released.

Admission is synchronous (no ``await`` between check and update), so on one event loop the probe
count is exact however many callers race for it.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

import structlog

from clients.errors import CircuitOpen
from clients.instruments import UpstreamInstruments
from clients.resilience.clock import Clock

log = structlog.get_logger("mobius.breaker")


class BreakerState(StrEnum):
    CLOSED = "CLOSED"
    OPEN = "OPEN"
    HALF_OPEN = "HALF_OPEN"


@dataclass(frozen=True, kw_only=True)
class BreakerPolicy:
    """Rates are percentages, as in resilience4j; ``window_size`` is calls or seconds."""

    window: Literal["count", "time"] = "count"
    window_size: int = 20
    minimum_calls: int = 10
    failure_rate_threshold: float = 50.0
    slow_call_rate_threshold: float = 100.0
    slow_call_s: float = 5.0
    open_s: float = 30.0
    half_open_probes: int = 3
    fleet: bool = True
    """With a shared board (Redis): opens, probes and closes once for every process of the fleet."""


@dataclass(frozen=True, slots=True)
class Forced:
    """An operator's word on one upstream: OPEN or CLOSED until released (``state`` None)."""

    upstream: str
    state: BreakerState | None
    by: str


@dataclass(frozen=True, slots=True)
class WindowStats:
    calls: int = 0
    failures: int = 0
    slow: int = 0

    @property
    def failure_rate(self) -> float | None:
        return None if not self.calls else 100.0 * self.failures / self.calls

    @property
    def slow_call_rate(self) -> float | None:
        return None if not self.calls else 100.0 * self.slow / self.calls


@dataclass(frozen=True, slots=True)
class Transition:
    at: float
    """Monotonic seconds (the breaker's clock)."""
    from_state: BreakerState
    to_state: BreakerState
    reason: str
    failure_rate: float | None
    slow_call_rate: float | None


class _CountWindow:
    """The last ``size`` outcomes, with running counts (read after every call)."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._outcomes: deque[tuple[bool, bool]] = deque()
        self._failures = 0
        self._slow = 0

    def record(self, failed: bool, slow: bool, now: float) -> None:
        if len(self._outcomes) == self._size:
            old_failed, old_slow = self._outcomes.popleft()
            self._failures -= old_failed
            self._slow -= old_slow
        self._outcomes.append((failed, slow))
        self._failures += failed
        self._slow += slow

    def counts(self, now: float) -> tuple[int, int, int]:
        """Calls, failures and slow calls in the window."""
        return len(self._outcomes), self._failures, self._slow


class _TimeWindow:
    """One bucket per whole second; the window is the last ``size`` seconds."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._buckets: deque[list[int]] = deque()

    def record(self, failed: bool, slow: bool, now: float) -> None:
        second = int(now)
        self._prune(second)
        if not self._buckets or self._buckets[-1][0] != second:
            self._buckets.append([second, 0, 0, 0])
        bucket = self._buckets[-1]
        bucket[1] += 1
        bucket[2] += failed
        bucket[3] += slow

    def counts(self, now: float) -> tuple[int, int, int]:
        """Calls, failures and slow calls in the window."""
        self._prune(int(now))
        return (
            sum(b[1] for b in self._buckets),
            sum(b[2] for b in self._buckets),
            sum(b[3] for b in self._buckets),
        )

    def _prune(self, second: int) -> None:
        while self._buckets and self._buckets[0][0] <= second - self._size:
            self._buckets.popleft()


class Permit:
    """Leave to call once: report ``success``/``failure`` with the duration, or ``release``."""

    __slots__ = ("_breaker", "_done", "generation", "probe")

    def __init__(self, breaker: CircuitBreaker, generation: int, *, probe: bool) -> None:
        self._breaker = breaker
        self._done = False
        self.generation = generation
        self.probe = probe

    def success(self, duration_s: float) -> None:
        self._finish(failed=False, duration_s=duration_s)

    def failure(self, duration_s: float) -> None:
        self._finish(failed=True, duration_s=duration_s)

    def release(self) -> None:
        """The call ended without a verdict on the upstream (cancelled, or rejected by us)."""
        if not self._done:
            self._done = True
            self._breaker.release_permit(self)

    def _finish(self, *, failed: bool, duration_s: float) -> None:
        if not self._done:
            self._done = True
            self._breaker.record_permit(self, failed=failed, slow=duration_s >= self._breaker.policy.slow_call_s)


class CircuitBreaker:
    def __init__(self, *, upstream: str, policy: BreakerPolicy, clock: Clock, history: int = 20) -> None:
        self.upstream = upstream
        self.policy = policy
        self._clock = clock
        self._state = BreakerState.CLOSED
        self._generation = 0
        self._window = self._new_window()
        self._opened_at = 0.0
        self._probes_admitted = 0
        self._probe_results: list[tuple[bool, bool]] = []
        self._transitions: deque[Transition] = deque(maxlen=history)
        self.forced: Forced | None = None
        self._metrics = UpstreamInstruments(upstream)
        self._metrics.breaker_state(self._state.lower())

    @property
    def forced_state(self) -> BreakerState | None:
        return None if self.forced is None else self.forced.state

    def force(self, state: BreakerState | None, *, by: str) -> None:
        """Hold the breaker OPEN or CLOSED whatever the outcomes, or release it (``None``: a fresh
        CLOSED breaker). Logged with who did it."""
        current = self.forced_state
        self.forced = Forced(self.upstream, state, by) if state is not None else None
        if state is not current:
            log.warning(
                "circuit_breaker_forced",
                upstream=self.upstream,
                state=state.value if state is not None else "released",
                by=by,
            )
            if state is None:
                self.reset()
            self._metrics.breaker_state(self.state.lower())  # a forced state is the state in force

    @property
    def state(self) -> BreakerState:
        if self.forced is not None and self.forced.state is not None:
            return self.forced.state
        if self._state is BreakerState.OPEN and self._clock() >= self._opened_at + self.policy.open_s:
            self._transition(BreakerState.HALF_OPEN, "open wait elapsed", WindowStats())
        return self._state

    @property
    def generation(self) -> int:
        return self._generation

    @property
    def transitions(self) -> tuple[Transition, ...]:
        return tuple(self._transitions)

    def stats(self) -> WindowStats:
        """The closed-state window (frozen while open), or the probes' results while half-open."""
        if self.state is BreakerState.HALF_OPEN:
            return _stats_of(self._probe_results)
        calls, failures, slow = self._window.counts(self._clock())
        return WindowStats(calls=calls, failures=failures, slow=slow)

    def acquire(self) -> Permit:
        """Leave to call now, or ``CircuitOpen`` with how long to stay away."""
        if self.forced is None and self._state is BreakerState.CLOSED:
            return Permit(self, self._generation, probe=False)
        forced = self.forced_state
        if forced is BreakerState.OPEN:
            assert self.forced is not None
            raise CircuitOpen(
                f"circuit breaker forced open by {self.forced.by}",
                upstream=self.upstream,
                retry_after_s=self.policy.open_s,
            )
        if forced is BreakerState.CLOSED:
            return Permit(self, self._generation, probe=False)
        state = self.state
        if state is BreakerState.CLOSED:
            return Permit(self, self._generation, probe=False)
        if state is BreakerState.HALF_OPEN and self._probes_admitted < self.policy.half_open_probes:
            self._probes_admitted += 1
            return Permit(self, self._generation, probe=True)
        if state is BreakerState.OPEN:
            retry_after = max(0.0, self._opened_at + self.policy.open_s - self._clock())
        else:
            retry_after = self.policy.open_s  # half-open with every probe out: if they fail, this long
        raise CircuitOpen("circuit breaker is open", upstream=self.upstream, retry_after_s=round(retry_after, 3))

    async def admit(self) -> Permit:
        """``acquire`` as the pipeline asks: a fleet breaker may ask Redis while half-open."""
        return self.acquire()

    def admit_now(self) -> Permit | None:
        """``admit`` when it needs no I/O (here always: ``acquire``); None: await ``admit``."""
        return self.acquire()

    def reset(self) -> None:
        """Back to a fresh CLOSED breaker (an operator action, and test isolation)."""
        if self._state is not BreakerState.CLOSED:
            self._transition(BreakerState.CLOSED, "reset", WindowStats())
        self._window = self._new_window()

    def release_permit(self, permit: Permit) -> None:
        if permit.probe and permit.generation == self._generation:
            self._probes_admitted -= 1

    def record_permit(self, permit: Permit, *, failed: bool, slow: bool) -> None:
        if permit.generation != self._generation or self.forced is not None:
            return
        if self._state is BreakerState.CLOSED:
            now = self._clock()
            self._window.record(failed, slow, now)
            # The window's counts, and its stats only for a transition (every call goes through here).
            calls, failures, slows = self._window.counts(now)
            if calls >= self._minimum_calls() and self._rates_reached(calls, failures, slows):
                self._transition(
                    BreakerState.OPEN, "thresholds reached", WindowStats(calls=calls, failures=failures, slow=slows)
                )
        elif self._state is BreakerState.HALF_OPEN and permit.probe:
            self._probe_results.append((failed, slow))
            if len(self._probe_results) >= self.policy.half_open_probes:
                stats = _stats_of(self._probe_results)
                if self._tripped(stats):
                    self._transition(BreakerState.OPEN, "probes failed", stats)
                else:
                    self._transition(BreakerState.CLOSED, "probes succeeded", stats)

    def _minimum_calls(self) -> int:
        if self.policy.window == "count":
            return min(self.policy.minimum_calls, self.policy.window_size)
        return self.policy.minimum_calls

    def _tripped(self, stats: WindowStats) -> bool:
        return self._rates_reached(stats.calls, stats.failures, stats.slow)

    def _rates_reached(self, calls: int, failures: int, slow: int) -> bool:
        """The failure rate or the slow-call rate of ``calls`` at its threshold (none of no calls)."""
        if not calls:
            return False
        policy = self.policy
        return (
            100.0 * failures / calls >= policy.failure_rate_threshold
            or 100.0 * slow / calls >= policy.slow_call_rate_threshold
        )

    def _transition(self, to: BreakerState, reason: str, stats: WindowStats) -> None:
        transition = Transition(
            at=self._clock(),
            from_state=self._state,
            to_state=to,
            reason=reason,
            failure_rate=stats.failure_rate,
            slow_call_rate=stats.slow_call_rate,
        )
        self._state = to
        self._generation += 1
        self._probes_admitted = 0
        self._probe_results = []
        if to is BreakerState.OPEN:
            self._opened_at = transition.at
        if to is BreakerState.CLOSED:
            self._window = self._new_window()
        self._transitions.append(transition)
        self._metrics.breaker_transition(transition.from_state.lower(), to.lower())
        log.warning(
            "circuit_breaker_transition",
            upstream=self.upstream,
            from_state=transition.from_state.value,
            to_state=to.value,
            reason=reason,
            failure_rate=stats.failure_rate,
            slow_call_rate=stats.slow_call_rate,
            calls=stats.calls,
        )

    def _new_window(self) -> _CountWindow | _TimeWindow:
        if self.policy.window == "count":
            return _CountWindow(self.policy.window_size)
        return _TimeWindow(self.policy.window_size)


def _stats_of(outcomes: list[tuple[bool, bool]]) -> WindowStats:
    return WindowStats(
        calls=len(outcomes),
        failures=sum(failed for failed, _ in outcomes),
        slow=sum(slow for _, slow in outcomes),
    )
