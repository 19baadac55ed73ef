"""Retry: exponential backoff with full jitter, ``Retry-After`` first, and a retry budget.

The budget is a token bucket per upstream: every call deposits ``budget_ratio`` tokens, every
retry spends one, the bucket holds at most ``budget_max_tokens`` (and starts full). So over any
stretch, retries <= ratio x calls + the bucket size, and an outage cannot multiply the load.
"""

from __future__ import annotations

from dataclasses import dataclass

from clients.errors import UpstreamError
from clients.resilience.clock import Random


@dataclass(frozen=True, kw_only=True)
class RetryPolicy:
    """``attempts`` counts the first try. Backoff before retry n is uniform in
    ``[0, min(cap_s, base_s * 2 ** (n - 1))]``."""

    attempts: int = 3
    base_s: float = 0.05
    cap_s: float = 1.0
    max_retry_after_s: float = 2.0
    """A ``Retry-After`` longer than this is not waited out: the caller gets it as ``retryAfter``."""
    budget_ratio: float = 0.2
    budget_max_tokens: float = 10.0


def is_retryable(error: UpstreamError) -> bool:
    """Decided by class: transient outages, timeouts and upstream 429s; never a local rejection,
    never an error another pipeline has already given up on."""
    return error.retryable and not (error.local or error.final)


class RetryBudget:
    """A token bucket shared by all calls to one upstream (a single event loop: no lock needed)."""

    def __init__(self, *, ratio: float, max_tokens: float) -> None:
        self._ratio = ratio
        self._max = max_tokens
        self._tokens = max_tokens

    @property
    def tokens(self) -> float:
        return self._tokens

    def deposit(self) -> bool:
        """Add one call's share; True when that changed the tokens (false once the bucket is full)."""
        before = self._tokens
        self._tokens = min(self._max, before + self._ratio)
        return self._tokens != before

    def try_spend(self) -> bool:
        if self._tokens < 1:
            return False
        self._tokens -= 1
        return True


class Backoff:
    def __init__(self, policy: RetryPolicy, random: Random) -> None:
        self._policy = policy
        self._random = random

    def delay_s(self, retry_number: int, error: UpstreamError) -> float | None:
        """The wait before retry ``retry_number`` (1-based); the upstream's ``Retry-After`` wins.
        None when the upstream asks for longer than the policy waits."""
        if error.retry_after_s is not None:
            return error.retry_after_s if error.retry_after_s <= self._policy.max_retry_after_s else None
        ceiling = min(self._policy.cap_s, self._policy.base_s * 2.0 ** (retry_number - 1))
        return self._random() * ceiling
