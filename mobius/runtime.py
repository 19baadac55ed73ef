"""Process-level tuning applied once the gateway has started."""

from __future__ import annotations

import gc

from mobius.settings import RuntimeSettings


def tune_gc(runtime: RuntimeSettings) -> None:
    """Freeze start-up objects and set the generation-0 threshold, as configured."""
    if runtime.gc_gen0_threshold is not None:
        _, gen1, gen2 = gc.get_threshold()
        gc.set_threshold(runtime.gc_gen0_threshold, gen1, gen2)
    if runtime.gc_freeze:
        gc.collect()
        gc.freeze()
