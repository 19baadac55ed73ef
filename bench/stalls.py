"""Which garbage collections a timed run met, and which of its slowest requests they fell in.

``GcLog`` times every collection of this process through ``gc.callbacks`` (generation, duration,
objects collected); ``stall_report`` lines the slowest requests up with the collections that ran
during them, so a tail of a few slow requests can be told apart: the collector's, or something
else's (the upstreams, the host).
"""

from __future__ import annotations

import gc
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Collection:
    started: float
    """``time.perf_counter()`` when it began."""
    spent_s: float
    generation: int
    collected: int
    uncollectable: int


@dataclass
class GcLog:
    """Every collection of this process while ``recording``, in order."""

    collections: list[Collection] = field(default_factory=list)
    _started: float = 0.0

    def _callback(self, phase: str, info: dict[str, Any]) -> None:
        now = time.perf_counter()
        if phase == "start":
            self._started = now
            return
        self.collections.append(
            Collection(self._started, now - self._started, info["generation"], info["collected"], info["uncollectable"])
        )

    @contextmanager
    def recording(self) -> Iterator[GcLog]:
        gc.callbacks.append(self._callback)
        try:
            yield self
        finally:
            gc.callbacks.remove(self._callback)

    def summary(self) -> str:
        """Per generation: how many collections, their total and longest time."""
        lines = []
        for generation in range(3):
            spent = [c.spent_s for c in self.collections if c.generation == generation]
            collected = sum(c.collected for c in self.collections if c.generation == generation)
            if spent:
                lines.append(
                    f"gc gen{generation}: {len(spent)} collections, {sum(spent) * 1000:.2f} ms in all, "
                    f"longest {max(spent) * 1000:.2f} ms, {collected} objects collected"
                )
        return "\n".join(lines) or "gc: no collections"


def stall_report(requests: list[tuple[float, float]], log: GcLog, slowest: int = 5) -> str:
    """The ``slowest`` requests (start, wall seconds), each with the collections that began during it."""
    lines = []
    for started, wall in sorted(requests, key=lambda request: request[1], reverse=True)[:slowest]:
        during = [c for c in log.collections if started <= c.started <= started + wall]
        met = ", ".join(f"gen{c.generation} {c.spent_s * 1000:.2f} ms ({c.collected} collected)" for c in during)
        lines.append(f"{wall * 1000:.2f} ms at +{started - requests[0][0]:.3f} s: {met or 'no collection'}")
    return "\n".join(lines)
