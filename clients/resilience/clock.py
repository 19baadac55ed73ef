"""The injected time and randomness every resilience part takes."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

Clock = Callable[[], float]
"""Seconds; monotonic unless a part says it needs wall-clock time."""
Sleep = Callable[[float], Awaitable[None]]
Random = Callable[[], float]
"""A uniform float in [0, 1)."""


@dataclass(frozen=True, kw_only=True)
class TimeSource:
    """The clocks, sleep and randomness one pipeline uses; tests replace all four."""

    monotonic: Clock = time.monotonic
    wall: Clock = time.time
    sleep: Sleep = asyncio.sleep
    random: Random = field(default_factory=lambda: random.SystemRandom().random)
