"""How long entries live: one frozen policy built from settings."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True, kw_only=True)
class L1Policy:
    """The in-process first level: bounded by entries and bytes, short-lived, fresh entries only."""

    max_entries: int = 10_000
    max_bytes: int = 32 * 1024 * 1024
    ttl_s: float = 5.0


@dataclass(frozen=True, slots=True, kw_only=True)
class LockPolicy:
    """A short Redis lock per missed key, so replicas do not stampede one hot key."""

    enabled: bool = True
    ttl_s: float = 2.0
    wait_s: float = 0.25  # how long a replica waits for another's fetch before fetching itself
    poll_s: float = 0.025


@dataclass(frozen=True, slots=True, kw_only=True)
class CachePolicy:
    ttl_s: Mapping[str, float]  # fresh time per cache type name (``users``, ``invoices``, ...)
    jitter_ratio: float = 0.1  # a fresh TTL is shortened by up to this fraction, at random
    stale_while_revalidate_s: float = 30.0
    stale_if_error_s: float = 600.0
    negative_ttl_s: float = 10.0
    l1: L1Policy | None = field(default_factory=L1Policy)
    lock: LockPolicy = field(default_factory=LockPolicy)
    fence_s: float = 30.0
    """How long an invalidation refuses writes of values fetched before it (longer than any fetch)."""
    clock_skew_s: float = 0.1
    """The most replicas' clocks may differ: a fetch is taken to have started this much earlier."""
