"""An attempt's time limit behaves as ``asyncio.timeout``: cut at the limit, otherwise invisible,
and a cancellation from outside stays a cancellation."""

from __future__ import annotations

import asyncio

import pytest

from clients.resilience.timeout import AttemptTimeout


async def test_an_attempt_past_its_limit_raises_timeout_error() -> None:
    with pytest.raises(TimeoutError), AttemptTimeout(0.01):
        await asyncio.sleep(5)


async def test_an_attempt_within_its_limit_is_untouched() -> None:
    with AttemptTimeout(5):
        await asyncio.sleep(0)
    await asyncio.sleep(0.02)  # the timer was cancelled: nothing cancels this task later
    task = asyncio.current_task()
    assert task is not None
    assert task.cancelling() == 0


async def test_a_cancellation_from_outside_is_not_a_timeout() -> None:
    async def attempt() -> None:
        with AttemptTimeout(5):
            await asyncio.sleep(5)

    task = asyncio.create_task(attempt())
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_outside_a_task_it_refuses() -> None:
    loop = asyncio.get_running_loop()
    refused: asyncio.Future[BaseException] = loop.create_future()

    def callback() -> None:  # a loop callback runs in no task
        try:
            AttemptTimeout(1.0)
        except RuntimeError as exc:
            refused.set_result(exc)

    loop.call_soon(callback)
    assert "needs a task" in str(await refused)
