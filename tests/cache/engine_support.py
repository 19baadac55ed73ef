"""The read-through engine's test helpers: an engine on the in-process store with an injected clock
and fixed TTLs (no jitter, no L1 unless asked), and identity users to cache."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from cache_support import CACHE_TYPES
from clock import FakeClock

from clients.identity import IdentityUser
from resolvers.cache import CacheEngine, CachePolicy, InProcessStore

TTLS = {ctype.name: 60.0 for ctype in CACHE_TYPES}


def user(user_id: str, name: str = "Ada", org_id: str = "org-1") -> IdentityUser:
    return IdentityUser(
        id=user_id,
        org_id=org_id,
        name=name,
        email=f"{user_id}@example.test",
        updated_at=datetime(2026, 1, 2, tzinfo=UTC),
        etag="e1",
    )


def make_engine(clock: FakeClock, store: InProcessStore | None = None, **policy: Any) -> CacheEngine:
    options: dict[str, Any] = {
        "ttl_s": TTLS,
        "jitter_ratio": 0.0,
        "stale_while_revalidate_s": 30.0,
        "stale_if_error_s": 300.0,
        "negative_ttl_s": 10.0,
        "l1": None,
    }
    options.update(policy)
    return CacheEngine(
        store=store if store is not None else InProcessStore(clock=clock),
        policy=CachePolicy(**options),
        types=CACHE_TYPES,
        scopes={"identity": "mobius-gateway"},
        clock=clock,
        jitter=lambda: 1.0,
    )
