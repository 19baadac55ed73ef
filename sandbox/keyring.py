"""Credentials an upstream accepts, rotatable at run time with an overlap window.

Each accepted value has a key id (`k1`, `k2`, ...) so stats can say which key a client used
without the sandbox ever reporting, logging or storing a value anywhere but here.
"""

from __future__ import annotations

import hmac
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(slots=True, eq=False)
class RotatingSecret:
    """One credential: the current value and, during an overlap window, the previous one."""

    initial: str = field(repr=False)
    clock: Callable[[], float]
    _generation: int = field(default=1, init=False)
    _current: str = field(default="", init=False, repr=False)
    _previous: str | None = field(default=None, init=False, repr=False)
    _previous_until: float = field(default=0.0, init=False)
    accepted: Counter[str] = field(default_factory=Counter, init=False)
    rejected: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        self._current = self.initial

    @property
    def key_id(self) -> str:
        return f"k{self._generation}"

    def active(self) -> list[tuple[str, str]]:
        """(key id, value) pairs accepted right now, the current one first."""
        pairs = [(self.key_id, self._current)]
        if self._previous is not None and self.clock() < self._previous_until:
            pairs.append((f"k{self._generation - 1}", self._previous))
        return pairs

    def match(self, presented: str) -> str | None:
        """The key id of the value presented, compared in constant time, or None."""
        found = None
        for key_id, value in self.active():
            if hmac.compare_digest(presented.encode(), value.encode()):
                found = key_id
        return found

    def record(self, key_id: str | None) -> None:
        if key_id is None:
            self.rejected += 1
        else:
            self.accepted[key_id] += 1

    def rotate(self, value: str, *, overlap_s: float) -> dict[str, object]:
        """Accept `value` from now on; the old value stays valid for `overlap_s` seconds."""
        previous_id = self.key_id
        self._previous, self._current = self._current, value
        self._previous_until = self.clock() + overlap_s
        self._generation += 1
        return {"key_id": self.key_id, "previous": previous_id, "overlap_s": overlap_s}

    def end_overlap(self) -> None:
        self._previous = None

    def reset(self) -> None:
        self._generation = 1
        self._current = self.initial
        self._previous = None
        self.accepted.clear()
        self.rejected = 0

    def stats(self) -> dict[str, object]:
        active = [key_id for key_id, _ in self.active()]
        return {"current": self.key_id, "active": active, "accepted": dict(self.accepted), "rejected": self.rejected}
