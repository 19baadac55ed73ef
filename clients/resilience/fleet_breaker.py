"""A process's circuit breaker of one upstream that opens, probes and closes with the fleet.

It is the local breaker (``breaker.CircuitBreaker``: same window, thresholds and timing; nothing
shared in the closed state) plus the board (``breaker_board``):

- when this process trips it, the transition is announced and every other process opens too, for
  what is left of the same ``open_s``;
- half-open, a call is a probe only if the board admits it (one atomic counter per open generation:
  ``half_open_probes`` in total across the fleet); its result is counted on the board and the
  process that reports the last one closes or re-opens the breaker for everybody;
- an operator's force (open or closed) is the fleet's: every process adopts it;
- when Redis does not answer, it is the local breaker again: it probes, closes and re-opens on its
  own, and announces when it can.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Coroutine
from typing import Any

import structlog

from clients.errors import CircuitOpen
from clients.resilience.breaker import BreakerPolicy, BreakerState, CircuitBreaker, Forced, Permit, WindowStats
from clients.resilience.breaker_board import BoardUnavailable, FleetTransition, RedisBreakerBoard
from clients.resilience.clock import Clock

log = structlog.get_logger("mobius.breaker")


class FleetPermit(Permit):
    """A probe the board admitted, for the fleet's open generation ``fleet_generation``."""

    __slots__ = ("fleet_generation",)

    def __init__(self, breaker: CircuitBreaker, generation: int, fleet_generation: int) -> None:
        super().__init__(breaker, generation, probe=True)
        self.fleet_generation = fleet_generation


class FleetBreaker(CircuitBreaker):
    def __init__(
        self,
        *,
        upstream: str,
        policy: BreakerPolicy,
        clock: Clock,
        board: RedisBreakerBoard,
        wall: Clock = time.time,
        history: int = 20,
    ) -> None:
        super().__init__(upstream=upstream, policy=policy, clock=clock, history=history)
        self.board = board
        self._wall = wall
        self.fleet_generation = 0
        """The fleet's last transition this process knows of."""
        self._fleet_state: BreakerState | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        board.join(self)

    def admit_now(self) -> Permit | None:
        """``acquire`` unless the fleet opened the breaker (then ``admit`` may ask the board)."""
        if self.forced_state is not None or self._fleet_state is not BreakerState.OPEN:
            return self.acquire()
        return None

    async def admit(self) -> Permit:
        """As ``acquire``; half-open after a fleet-wide opening, the board decides who probes."""
        permit = self.admit_now()
        if permit is not None:
            return permit
        if super().state is not BreakerState.HALF_OPEN:
            return self.acquire()
        generation, fleet_generation = self._generation, self.fleet_generation
        try:
            admitted = await self.board.take_probe(
                self.upstream, fleet_generation, limit=self.policy.half_open_probes, ttl_s=self.policy.open_s
            )
        except BoardUnavailable:
            return super().acquire()
        if admitted and generation == self._generation:
            return FleetPermit(self, generation, fleet_generation)
        if admitted:
            self._spawn(self._return_probe(fleet_generation))
        raise CircuitOpen(
            "circuit breaker is open (the fleet's probes are out)",
            upstream=self.upstream,
            retry_after_s=self.policy.open_s,
        )

    def release_permit(self, permit: Permit) -> None:
        if isinstance(permit, FleetPermit):
            self._spawn(self._return_probe(permit.fleet_generation))
            return
        super().release_permit(permit)

    def record_permit(self, permit: Permit, *, failed: bool, slow: bool) -> None:
        if self.forced is not None:
            return  # an operator decides, not the outcomes
        if isinstance(permit, FleetPermit):
            if permit.generation == self._generation:
                self._spawn(self._report(permit.fleet_generation, failed=failed, slow=slow))
            return
        before = self._state
        super().record_permit(permit, failed=failed, slow=slow)
        if self._state is not before and self._state is not BreakerState.HALF_OPEN:
            reason = self._transitions[-1].reason if self._transitions else ""
            self._spawn(self._announce(self._state, reason))

    async def _report(self, fleet_generation: int, *, failed: bool, slow: bool) -> None:
        try:
            totals = await self.board.report_probe(
                self.upstream,
                fleet_generation,
                failed=failed,
                slow=slow,
                limit=self.policy.half_open_probes,
                ttl_s=self.policy.open_s,
            )
        except BoardUnavailable:
            return
        if totals is None or fleet_generation != self.fleet_generation:
            return
        if self._tripped(totals):
            self._move(BreakerState.OPEN, "the fleet's probes failed", totals)
        else:
            self._move(BreakerState.CLOSED, "the fleet's probes succeeded", totals)
        await self._announce(self._state, self._transitions[-1].reason)

    def _move(self, to: BreakerState, reason: str, stats: WindowStats) -> None:
        if self._state is not to:
            self._transition(to, reason, stats)

    async def _announce(self, state: BreakerState, reason: str) -> None:
        until = self._wall() + self.policy.open_s if state is BreakerState.OPEN else 0.0
        try:
            transition = await self.board.announce(
                self.upstream, expected=self.fleet_generation, state=state, until=until, reason=reason
            )
        except BoardUnavailable as exc:
            log.warning("circuit_breaker_not_announced", upstream=self.upstream, error_type=str(exc))
            return
        if transition.by == self.board.instance and transition.generation > self.fleet_generation:
            self.fleet_generation = transition.generation
            self._fleet_state = transition.state
        else:
            self.adopt(transition)

    async def _return_probe(self, fleet_generation: int) -> None:
        try:
            await self.board.return_probe(self.upstream, fleet_generation)
        except BoardUnavailable:
            return  # the slot comes back when its counter expires

    def adopt(self, transition: FleetTransition) -> None:
        """What another process announced (or what the fleet's state says at start)."""
        if transition.generation <= self.fleet_generation:
            return
        self.fleet_generation = transition.generation
        self._fleet_state = transition.state
        reason = f"{transition.reason} (by {transition.by})"
        if transition.state is BreakerState.OPEN:
            if self._state is not BreakerState.OPEN:
                self._transition(BreakerState.OPEN, reason, WindowStats())
            left = max(0.0, min(self.policy.open_s, transition.until - self._wall()))
            self._opened_at = self._clock() - (self.policy.open_s - left)
        else:
            self._move(BreakerState.CLOSED, reason, WindowStats())

    def adopt_forced(self, forced: Forced) -> None:
        self.force(forced.state, by=forced.by)

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
