"""What the gateway's many small memos share: a dictionary kept within a bound by being dropped
whole when it is full. A memo of derived values (escaped texts, parsed routes, printed documents,
plans) refills at once from what recurs, so there is nothing worth an eviction order's cost on
every hit: the hit stays a plain ``dict.get`` at its call site, only a miss comes here."""

from __future__ import annotations

from typing import TypeVar

K = TypeVar("K")
V = TypeVar("V")


def keep(memo: dict[K, V], key: K, value: V, limit: int) -> V:
    """``memo[key] = value``, the memo emptied first when it already holds ``limit`` entries;
    ``value`` returned, for the caller's miss path to end in."""
    if len(memo) >= limit:
        memo.clear()
    memo[key] = value
    return value
