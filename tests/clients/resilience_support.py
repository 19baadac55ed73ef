"""A fake time source for resilience tests: clocks that move only when told, a sleep that moves
them instead of waiting, and a seeded random source; and the rate limiter's test helpers (a limiter
on a fake time, calls admitted, the wait a refusal advises)."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest

from clients.errors import RateLimitedLocally
from clients.resilience.clock import TimeSource
from clients.resilience.ratelimit import RateLimiter, RateLimitPolicy
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


EPOCH = 1_764_000_000.0
"""A whole second: fake wall clocks start here and move in steps exact in binary, so window
arithmetic in the test and in the stores agrees to the last bit."""


def exact_time() -> FakeTime:
    return FakeTime(wall=FakeClock(start=EPOCH))


def limiter(time: FakeTime, store: RateLimitStore, **policy: object) -> RateLimiter:
    return RateLimiter(
        upstream="billing",
        policy=RateLimitPolicy(credential_id="key-1", **policy),  # type: ignore[arg-type]
        store=store,
        wall_clock=time.wall,
        sleep=time.sleep,
    )


async def admitted(limit: RateLimiter, calls: int) -> int:
    count = 0
    for _ in range(calls):
        try:
            await limit.acquire()
        except RateLimitedLocally:
            continue
        count += 1
    return count


async def retry_after(limit: RateLimiter) -> float:
    with pytest.raises(RateLimitedLocally) as caught:
        await limit.acquire()
    assert caught.value.code == "RATE_LIMITED"
    return caught.value.retry_after_s or 0.0
