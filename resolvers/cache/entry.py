"""A cached answer and its timestamps, and its compact wire form.

Freshness is judged from the stored timestamps with the engine's injected clock; the store's own
expiry (Redis ``EX``) is only a safety net that removes entries past every window.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import orjson
from mypy_extensions import mypyc_attr

from clients.codec import Codec, Invalid

V = TypeVar("V")

WIRE_FORMAT = 2
"""1: values as pydantic dumped them (snake_case names); 2: as their codec encodes them."""


@mypyc_attr(native_class=False)  # compiled, a generic dataclass must stay a Python class (mypyc/mypyc#827)
@dataclass(frozen=True, slots=True)
class Entry(Generic[V]):
    """``negative`` marks a cached not-found answer (distinct from a miss: no entry at all)."""

    value: V | None
    negative: bool
    stored_at: float
    fresh_until: float
    stale_until: float  # end of the stale-while-revalidate window
    error_until: float  # end of the stale-if-error window
    size: int = field(default=0, compare=False)  # bytes on the wire, when read from a store

    def is_fresh(self, now: float) -> bool:
        return now < self.fresh_until

    def is_revalidatable(self, now: float) -> bool:
        return self.fresh_until <= now < self.stale_until

    def serves_on_error(self, now: float) -> bool:
        return not self.negative and now < self.error_until


def encode(entry: Entry[V], codec: Codec[V]) -> bytes:
    payload = None if entry.negative else orjson.Fragment(codec.encode(entry.value))  # type: ignore[arg-type]  # a value entry holds a V
    return orjson.dumps(
        [
            WIRE_FORMAT,
            entry.negative,
            entry.stored_at,
            entry.fresh_until,
            entry.stale_until,
            entry.error_until,
            payload,
        ]
    )


def decode(raw: bytes, codec: Codec[V]) -> Entry[V] | None:
    """The entry, or ``None`` for anything unreadable (treated as a miss, never as an error)."""
    try:
        fields: Any = orjson.loads(raw)
        wire, negative, stored_at, fresh_until, stale_until, error_until, payload = fields
        if wire != WIRE_FORMAT:
            return None
        value = None if negative else codec.convert(payload)
        return Entry(
            value=value,
            negative=bool(negative),
            stored_at=float(stored_at),
            fresh_until=float(fresh_until),
            stale_until=float(stale_until),
            error_until=float(error_until),
            size=len(raw),
        )
    except (orjson.JSONDecodeError, ValueError, TypeError, Invalid):
        return None
