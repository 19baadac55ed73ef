"""The Redis store's own circuit breaker: after a few consecutive failures Redis is skipped
(every cache call is an instant miss) until one probe, after ``reset_after_s``, succeeds."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Literal

BreakerState = Literal["closed", "open", "half_open"]


class StoreBreaker:
    def __init__(
        self, *, failure_threshold: int = 3, reset_after_s: float = 5.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.failure_threshold = failure_threshold
        self.reset_after_s = reset_after_s
        self.clock = clock
        self.failures = 0
        self._opened_at: float | None = None
        self._probing = False

    @property
    def state(self) -> BreakerState:
        if self._opened_at is None:
            return "closed"
        if self._probing or self.clock() >= self._opened_at + self.reset_after_s:
            return "half_open"
        return "open"

    def allow(self) -> bool:
        """Closed: yes. Open: no. Half-open: one probe at a time."""
        state = self.state
        if state == "closed":
            return True
        if state == "half_open" and not self._probing:
            self._probing = True
            return True
        return False

    def success(self) -> None:
        self.failures = 0
        self._opened_at = None
        self._probing = False

    def failure(self) -> None:
        self.failures += 1
        if self._probing or self.failures >= self.failure_threshold:
            self._opened_at = self.clock()
        self._probing = False
