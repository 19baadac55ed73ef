"""Fixtures of the gateway tests only."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest
from response_cache_support import client, server

__all__ = ["client", "saved_garbage", "server"]


@pytest.fixture
def saved_garbage() -> Iterator[list[object]]:
    """What the collector finds unreachable from here on, kept for inspection instead of freed."""
    gc.collect()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        yield gc.garbage
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
