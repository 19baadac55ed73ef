"""``mobius serve`` with every garbage collection of each server process written down.

``bench.wakeups --gc-log`` starts Mobius as ``python -m bench.gc_serve serve ...``: each process
(the server, or each worker uvicorn spawns, which imports this module as its main module again)
appends one JSON line per collection to ``gc-<pid>.jsonl`` in the directory named by
``GC_LOG_DIR_ENV``: when it ended (``time.monotonic()``, comparable between processes), its
generation, its duration and the objects it collected. ``collections`` reads back those that
ended within a stretch of time, e.g. the timed requests.
"""

from __future__ import annotations

import gc
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

GC_LOG_DIR_ENV = "_BENCH_GC_LOG_DIR"


@dataclass(frozen=True, slots=True)
class Collection:
    ended: float
    """``time.monotonic()`` when it ended."""
    generation: int
    spent_s: float
    collected: int


def record(directory: Path) -> None:
    """Append every collection of this process from now on to ``directory/gc-<pid>.jsonl``."""
    log = (directory / f"gc-{os.getpid()}.jsonl").open("a", encoding="utf-8", buffering=1)
    started = 0.0

    def callback(phase: str, info: dict[str, Any]) -> None:
        nonlocal started
        now = time.monotonic()
        if phase == "start":
            started = now
            return
        entry = {"ended": now, "generation": info["generation"], "spent_s": now - started}
        log.write(json.dumps({**entry, "collected": info["collected"]}) + "\n")

    gc.callbacks.append(callback)


def collections(directory: Path, since: float, until: float) -> list[Collection]:
    """The collections of every process logged in ``directory`` that ended between ``since`` and ``until``."""
    found = []
    for log in sorted(directory.glob("gc-*.jsonl")):
        for line in log.read_text(encoding="utf-8").splitlines():
            collection = Collection(**json.loads(line))
            if since <= collection.ended <= until:
                found.append(collection)
    return found


def summary(found: list[Collection], requests: int) -> str:
    """Per generation: collections, time and objects collected, per request."""
    lines = []
    for generation in range(3):
        these = [c for c in found if c.generation == generation]
        if these:
            spent_ms = sum(c.spent_s for c in these) * 1000
            lines.append(
                f"    gen{generation}: {len(these)} collections, {spent_ms:.2f} ms in all "
                f"({spent_ms * 1000 / requests:.1f} us per request), {sum(c.collected for c in these)} collected"
            )
    return "\n".join(lines) or "    none"


if __name__ in {"__main__", "__mp_main__"}:
    record(Path(os.environ[GC_LOG_DIR_ENV]))

if __name__ == "__main__":
    from mobius.cli import main

    sys.exit(main(sys.argv[1:]))
