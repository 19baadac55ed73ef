"""What ``schema/lockstep.py`` relies on in asyncio (and uvloop) where it steps coroutines itself, as
asyncio's tasks do (see ``test_executor_internals_pins``)."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Coroutine
from types import CoroutineType
from typing import Any

import pytest
import uvloop


def first_yield(coroutine: Coroutine[Any, Any, Any]) -> Any:
    assert type(coroutine) is CoroutineType
    yielded = coroutine.send(None)
    coroutine.close()
    return yielded


@pytest.mark.parametrize("loop_factory", [asyncio.new_event_loop, uvloop.new_event_loop], ids=["asyncio", "uvloop"])
def test_awaiting_a_pending_future_yields_it_marked_as_blocking(loop_factory: Any) -> None:
    loop = loop_factory()
    try:
        future = loop.create_future()

        async def waits() -> Any:
            return await future

        yielded = first_yield(waits())
        assert yielded is future
        assert yielded._asyncio_future_blocking is True
        yielded._asyncio_future_blocking = False
        assert inspect.isawaitable(future)
    finally:
        loop.close()


def test_a_bare_sleep_zero_yields_none() -> None:
    async def yields() -> None:
        await asyncio.sleep(0)

    assert first_yield(yields()) is None
