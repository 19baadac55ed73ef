"""Fixtures for the client-layer tests (helpers live in ``tests.clients.support``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from clients.upstreams import Upstreams
from tests.clients.support import started


@pytest.fixture
async def upstreams(sandbox: Any) -> AsyncIterator[Upstreams]:
    """The app's upstream clients against a freshly reset sandbox, started and closed per test."""
    built = await started(sandbox.urls, sandbox.credentials)
    try:
        yield built
    finally:
        await built.close()
