"""How long a source waits before its next connection attempt: exponential backoff with jitter."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True, kw_only=True)
class Backoff:
    """The n-th wait (n from 0) is ``initial_s * multiplier**n`` capped at ``max_s``, then drawn
    uniformly from its upper ``jitter`` fraction: with jitter 0.5, between half and all of it."""

    initial_s: float
    max_s: float
    multiplier: float = 2.0
    jitter: float = 0.5

    def delay_s(self, attempt: int, uniform: Callable[[float, float], float] = random.uniform) -> float:
        ceiling = min(self.max_s, self.initial_s * self.multiplier ** min(attempt, 64))
        return uniform(ceiling * (1 - self.jitter), ceiling)
