"""``resolvers.loaders.eager.start_eagerly``: a task whose first step runs before the call returns,
and which a coroutine cannot otherwise tell from a task (its current task, its context, its result,
its exceptions, its cancellation)."""

from __future__ import annotations

import asyncio
import contextvars
import gc
from typing import Any

import pytest

from clients.resilience.timeout import AttemptTimeout
from resolvers.loaders.eager import start_eagerly

seen: contextvars.ContextVar[str] = contextvars.ContextVar("seen", default="unset")


async def test_the_first_step_runs_before_the_call_returns_and_the_task_runs_the_rest() -> None:
    loop = asyncio.get_running_loop()
    steps: list[str] = []
    gate: asyncio.Future[str] = loop.create_future()

    async def batch() -> str:
        steps.append("first")
        answer = await gate
        steps.append(answer)
        return "done"

    task = start_eagerly(batch(), loop)

    assert steps == ["first"]
    gate.set_result("second")
    assert await task == "done"
    assert steps == ["first", "second"]


async def test_a_coroutine_that_ends_at_once_gives_its_task_its_result() -> None:
    loop = asyncio.get_running_loop()

    async def answered() -> int:
        return 7

    assert await start_eagerly(answered(), loop) == 7


async def test_during_the_first_step_the_task_is_the_current_task_and_the_caller_is_after() -> None:
    loop = asyncio.get_running_loop()
    caller = asyncio.current_task()
    current: list[asyncio.Task[Any] | None] = []

    async def batch() -> None:
        current.append(asyncio.current_task())
        await asyncio.sleep(0)
        current.append(asyncio.current_task())

    task = start_eagerly(batch(), loop)

    assert current == [task]
    assert asyncio.current_task() is caller
    await task
    assert current == [task, task]


async def test_the_first_step_runs_in_the_tasks_context_not_the_callers() -> None:
    loop = asyncio.get_running_loop()
    seen.set("caller")
    read: list[str] = []

    async def batch() -> None:
        read.append(seen.get())
        seen.set("task")
        await asyncio.sleep(0)
        read.append(seen.get())

    task = start_eagerly(batch(), loop)

    assert seen.get() == "caller"
    await task
    assert read == ["caller", "task"]


async def test_what_the_first_step_raises_is_the_tasks_exception() -> None:
    loop = asyncio.get_running_loop()

    async def failing() -> None:
        raise LookupError("at once")

    task = start_eagerly(failing(), loop)

    with pytest.raises(LookupError, match="at once"):
        await task


async def test_an_exception_after_the_first_step_is_the_tasks_too() -> None:
    loop = asyncio.get_running_loop()

    async def failing() -> None:
        await asyncio.sleep(0)
        raise LookupError("later")

    with pytest.raises(LookupError, match="later"):
        await start_eagerly(failing(), loop)


async def test_an_unawaited_failure_is_reported_as_a_tasks_is(lost_exceptions: list[dict[str, Any]]) -> None:
    loop = asyncio.get_running_loop()

    async def failing() -> None:
        raise LookupError("nobody asks")

    task = start_eagerly(failing(), loop)
    await asyncio.sleep(0)
    assert task.done()
    del task
    gc.collect()

    assert [type(context.get("exception")) for context in lost_exceptions] == [LookupError]


async def test_a_cancellation_before_the_task_resumes_reaches_the_coroutine_and_the_future_it_awaits() -> None:
    loop = asyncio.get_running_loop()
    gate: asyncio.Future[None] = loop.create_future()
    outcome: list[str] = []

    async def batch() -> None:
        try:
            await gate
        except asyncio.CancelledError:
            outcome.append("cancelled")
            raise

    task = start_eagerly(batch(), loop)
    task.cancel()

    with pytest.raises(asyncio.CancelledError):
        await task
    assert outcome == ["cancelled"]
    assert gate.cancelled()
    assert task.cancelled()


async def test_a_cancellation_while_waiting_later_cancels_the_task() -> None:
    loop = asyncio.get_running_loop()
    gate: asyncio.Future[None] = loop.create_future()

    async def batch() -> None:
        await asyncio.sleep(0)
        await gate

    task = start_eagerly(batch(), loop)
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    task.cancel()

    with pytest.raises(asyncio.CancelledError):
        await task
    assert gate.cancelled()


async def test_an_attempts_timeout_begun_in_the_first_step_cancels_the_task_not_the_caller() -> None:
    loop = asyncio.get_running_loop()

    async def slow() -> str:
        try:
            with AttemptTimeout(0.01):
                await loop.create_future()
        except TimeoutError:
            return "timed out"
        return "answered"

    task = start_eagerly(slow(), loop)

    assert await task == "timed out"
    caller = asyncio.current_task()
    assert caller is not None
    assert caller.cancelling() == 0
