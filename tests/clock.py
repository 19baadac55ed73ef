"""A clock that moves only when a test moves it: TTLs, windows and expiries without sleeping."""

from __future__ import annotations

import pytest


class FakeClock:
    """Monotonic seconds, callable like ``time.monotonic``."""

    def __init__(self, start: float = 1_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("a monotonic clock never goes back")
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    """A fresh fake clock; tests that hand it to a gateway or cache move it themselves."""
    return FakeClock()
