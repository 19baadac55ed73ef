"""An attempt's time limit behaves as ``asyncio.timeout``: cut at the limit, otherwise invisible,
and a cancellation from outside stays a cancellation; the attempts of a loop share one timer, and
each is cut at its own limit."""

from __future__ import annotations

import asyncio
import gc
import weakref

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


async def test_attempts_in_flight_are_each_cut_at_their_own_limit() -> None:
    """One timer serves the loop's attempts: a later, shorter limit is kept, a longer one is not
    cut with the others, and an attempt that finished in time is never cut."""
    cut: list[str] = []

    async def attempt(name: str, limit: float, takes: float) -> str:
        try:
            with AttemptTimeout(limit):
                await asyncio.sleep(takes)
        except TimeoutError:
            cut.append(name)
            return "timed out"
        return "answered"

    long = asyncio.create_task(attempt("long", 5, 0.15))
    await asyncio.sleep(0)
    slow = asyncio.create_task(attempt("slow", 0.1, 5))
    await asyncio.sleep(0)
    late_short = asyncio.create_task(attempt("late short", 0.02, 5))
    results = list(await asyncio.gather(long, slow, late_short))

    assert results == ["answered", "timed out", "timed out"]
    assert cut == ["late short", "slow"]


async def test_an_attempt_begun_after_others_finished_is_still_cut() -> None:
    for _ in range(3):
        with AttemptTimeout(5):
            await asyncio.sleep(0)
    with pytest.raises(TimeoutError), AttemptTimeout(0.01):
        await asyncio.sleep(5)
    await asyncio.sleep(0.02)
    task = asyncio.current_task()
    assert task is not None
    assert task.cancelling() == 0


async def test_attempts_on_another_loop_keep_their_own_limits() -> None:
    """An attempt on a second loop (another thread's) and one on this loop, both in flight: each
    is cut on its own loop, and the attempts after it here still are."""

    async def elsewhere() -> str:
        try:
            with AttemptTimeout(0.02):
                await asyncio.sleep(5)
        except TimeoutError:
            return "timed out there"
        return "answered"

    async def here() -> str:
        try:
            with AttemptTimeout(0.1):
                await asyncio.sleep(5)
        except TimeoutError:
            return "timed out here"
        return "answered"

    mine = asyncio.create_task(here())
    await asyncio.sleep(0)
    assert await asyncio.to_thread(asyncio.run, elsewhere()) == "timed out there"
    assert await mine == "timed out here"
    with pytest.raises(TimeoutError), AttemptTimeout(0.01):
        await asyncio.sleep(5)


async def test_a_finished_attempt_keeps_no_hold_on_its_task() -> None:
    """Its entry waits among the loop's deadlines until its limit; the task and what it holds do not."""

    async def attempt() -> None:
        with AttemptTimeout(5):
            await asyncio.sleep(0)

    task = asyncio.create_task(attempt())
    await task
    gone = weakref.ref(task)
    del task
    await asyncio.sleep(0)  # the loop lets go of the finished task's wake-up
    await asyncio.sleep(0)
    gc.collect()
    assert gone() is None
