"""Pending fields stepped together: order, batching across rounds, errors and cancellation."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest
from aiodataloader import DataLoader

from schema.lockstep import step_together


class RecordingLoader(DataLoader[int, int]):
    def __init__(self, factor: int) -> None:
        super().__init__()
        self.factor = factor
        self.batches: list[list[int]] = []

    async def batch_load_fn(self, keys: Sequence[int]) -> list[int]:  # type: ignore[override]
        self.batches.append(list(keys))
        return [key * self.factor for key in keys]


async def test_results_keep_their_order_and_each_round_of_loads_is_one_batch() -> None:
    first, second = RecordingLoader(10), RecordingLoader(100)

    async def item(key: int) -> tuple[int, int]:
        a = await first.load(key)
        await asyncio.sleep(0)
        b = await second.load(key)
        return a, b

    results = await step_together([item(key) for key in range(5)])

    assert results == [(key * 10, key * 100) for key in range(5)]
    assert first.batches == [[0, 1, 2, 3, 4]]
    assert second.batches == [[0, 1, 2, 3, 4]]


async def test_values_that_are_not_coroutines_are_awaited_too() -> None:
    loop = asyncio.get_running_loop()
    future: asyncio.Future[str] = loop.create_future()
    loop.call_soon(future.set_result, "later")

    async def now() -> str:
        return "now"

    assert await step_together([future, now()]) == ["later", "now"]


async def test_the_first_error_cancels_the_others_lets_them_clean_up_and_is_raised() -> None:
    cleaned: list[str] = []
    never: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    async def waits_forever(name: str) -> None:
        try:
            await never
        except asyncio.CancelledError:
            await asyncio.sleep(0)  # clean-up that itself awaits
            cleaned.append(name)
            raise

    async def fails() -> None:
        await asyncio.sleep(0)
        raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        await step_together([waits_forever("a"), fails(), waits_forever("b")])
    assert sorted(cleaned) == ["a", "b"]
    assert not never.cancelled(), "a future the items waited on belongs to others too: it is left alone"


async def test_after_the_first_error_the_round_runs_to_its_end_before_the_waiting_items_are_cancelled() -> None:
    """As with tasks started in one loop turn: an item after the failing one still runs, so a
    nullable field that fails at once reports its own error; one still waiting is cancelled."""
    ran: list[str] = []
    cancelled: list[str] = []
    never: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    async def fails(name: str) -> None:
        ran.append(name)
        raise ValueError(name)

    async def waits(name: str) -> None:
        ran.append(name)
        try:
            await never
        except asyncio.CancelledError:
            cancelled.append(name)
            raise

    async def reports(name: str) -> str:
        ran.append(name)
        return name

    with pytest.raises(ValueError, match="first"):
        await step_together([waits("before"), fails("first"), fails("second"), reports("after"), waits("later")])
    assert ran == ["before", "first", "second", "after", "later"]
    assert sorted(cancelled) == ["before", "later"]


async def test_cancelling_the_awaiting_task_cancels_every_item() -> None:
    cleaned: list[int] = []
    started = asyncio.Event()

    async def item(key: int) -> None:
        try:
            started.set()
            await asyncio.sleep(60)
        finally:
            cleaned.append(key)

    task = asyncio.create_task(step_together([item(key) for key in range(3)]))
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert sorted(cleaned) == [0, 1, 2]


async def test_an_item_that_finishes_at_once_needs_no_wait() -> None:
    async def value(key: int) -> int:
        return key

    assert await step_together([value(key) for key in range(3)]) == [0, 1, 2]
