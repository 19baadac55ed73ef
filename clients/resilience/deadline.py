"""A per-GraphQL-request deadline in a context variable.

The gateway sets it once per request; it reaches every resolver and every dataloader batch task
because tasks copy the context they are created in. Upstream calls take ``min(their timeout,
remaining budget)`` and refuse to start when nothing is left.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from dataclasses import dataclass

from clients.errors import DeadlineExceeded
from clients.resilience.clock import Clock


@dataclass(frozen=True, slots=True)
class Deadline:
    expires_at: float
    clock: Clock

    def remaining_s(self) -> float:
        return self.expires_at - self.clock()


_current: ContextVar[Deadline | None] = ContextVar("mobius_deadline", default=None)


def start_deadline(budget_s: float, clock: Clock) -> Token[Deadline | None]:
    """Set the deadline of the current request (and of every task it creates from now on)."""
    return _current.set(Deadline(expires_at=clock() + budget_s, clock=clock))


@contextmanager
def deadline_scope(budget_s: float, clock: Clock) -> Iterator[Deadline]:
    token = start_deadline(budget_s, clock)
    try:
        deadline = _current.get()
        assert deadline is not None
        yield deadline
    finally:
        _current.reset(token)


def current_deadline() -> Deadline | None:
    return _current.get()


def remaining_s() -> float | None:
    """Seconds left in the current request's budget; None outside a request."""
    deadline = _current.get()
    return None if deadline is None else deadline.remaining_s()


def bounded_timeout(timeout_s: float, *, upstream: str) -> tuple[float, bool]:
    """``min(timeout_s, remaining budget)``, and whether the deadline is what bounds it; nothing
    starts (an attempt, a retry, a wait) once the budget is spent: ``DeadlineExceeded``."""
    left = remaining_s()
    if left is None:
        return timeout_s, False
    if left <= 0:
        raise DeadlineExceeded("the request's deadline passed before the call could start", upstream=upstream)
    if left < timeout_s:
        return left, True
    return timeout_s, False
