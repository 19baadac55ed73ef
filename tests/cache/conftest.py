"""Fixtures of the cache tests only."""

from __future__ import annotations

import pytest
from cache_support import Upstream
from engine_support import user


@pytest.fixture
def users() -> Upstream:
    """An identity upstream of five users, ``u-1`` to ``u-5``, recording the batches it is asked for."""
    return Upstream({f"u-{i}": user(f"u-{i}") for i in range(1, 6)})
