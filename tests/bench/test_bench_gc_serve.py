"""bench.gc_serve: each collection of a process written down, and read back by time."""

from __future__ import annotations

import gc
import time
from pathlib import Path

from bench.gc_serve import collections, record, summary


def test_collections_are_logged_and_read_back_within_the_asked_stretch(tmp_path: Path) -> None:
    callbacks = list(gc.callbacks)
    try:
        record(tmp_path)
        before = time.monotonic()
        gc.collect(1)
        after = time.monotonic()
        gc.collect(2)
    finally:
        gc.callbacks[:] = callbacks
    found = collections(tmp_path, before, after)
    assert [c.generation for c in found] == [1]
    assert found[0].spent_s >= 0
    assert [c.generation for c in collections(tmp_path, before, time.monotonic())] == [1, 2]
    assert summary(found, 10).startswith("    gen1: 1 collections")


def test_a_stretch_without_collections_reads_none(tmp_path: Path) -> None:
    assert summary(collections(tmp_path, 0.0, time.monotonic()), 10) == "    none"
