"""The in-process first level: LRU bounded by entries and bytes, short-lived, fresh entries only."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass

from resolvers.cache.entry import Entry
from resolvers.cache.policy import L1Policy


@dataclass(frozen=True)
class _Slot:
    entry: Entry[object]
    size: int
    expires_at: float
    tags: frozenset[str]


class L1Cache:
    def __init__(self, policy: L1Policy) -> None:
        self.policy = policy
        self._slots: OrderedDict[str, _Slot] = OrderedDict()
        self.bytes = 0

    def __len__(self) -> int:
        return len(self._slots)

    def get(self, key: str, now: float) -> Entry[object] | None:
        slot = self._slots.get(key)
        if slot is None:
            return None
        if now >= slot.expires_at:  # ``put`` keeps it within the entry's freshness
            self._drop(key)
            return None
        self._slots.move_to_end(key)
        return slot.entry

    def put(self, key: str, entry: Entry[object], size: int, tags: Iterable[str], now: float) -> None:
        if size > self.policy.max_bytes:
            return
        self._drop(key)
        expires_at = min(now + self.policy.ttl_s, entry.fresh_until)
        self._slots[key] = _Slot(entry=entry, size=size, expires_at=expires_at, tags=frozenset(tags))
        self.bytes += size
        while len(self._slots) > self.policy.max_entries or self.bytes > self.policy.max_bytes:
            self._drop(next(iter(self._slots)))

    def evict(self, keys: Iterable[str], tags: Iterable[str]) -> None:
        for key in keys:
            self._drop(key)
        wanted = set(tags)
        if wanted:
            for key in [key for key, slot in self._slots.items() if slot.tags & wanted]:
                self._drop(key)

    def clear(self) -> None:
        self._slots.clear()
        self.bytes = 0

    def _drop(self, key: str) -> None:
        slot = self._slots.pop(key, None)
        if slot is not None:
            self.bytes -= slot.size
