"""A fake time source for resilience tests: clocks that move only when told, a sleep that moves
them instead of waiting, and a seeded random source."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from clients.resilience.clock import TimeSource
from clients.resilience.ratelimit_store import RateLimitStore
from tests.clock import FakeClock


@dataclass
class FakeTime:
    monotonic: FakeClock = field(default_factory=FakeClock)
    wall: FakeClock = field(default_factory=lambda: FakeClock(start=time.time()))
    rng: random.Random = field(default_factory=lambda: random.Random(1234))
    slept: list[float] = field(default_factory=list)

    def advance(self, seconds: float) -> None:
        self.monotonic.advance(seconds)
        self.wall.advance(seconds)

    async def sleep(self, seconds: float) -> None:
        """Record the wait and move both clocks past it; yield once so other tasks run."""
        self.slept.append(seconds)
        self.advance(seconds)
        await asyncio.sleep(0)

    def source(self) -> TimeSource:
        return TimeSource(monotonic=self.monotonic, wall=self.wall, sleep=self.sleep, random=self.rng.random)


StoreFor = Callable[[FakeTime], RateLimitStore]
"""Builds one replica's rate-limit store on a fake time's monotonic clock (the ``store_for`` fixture)."""
