"""``resolvers.loaders.when_done``: a callback once every future of a set is done, whatever each
ended with, called once, and without leaving a failure to be logged as never retrieved."""

from __future__ import annotations

import asyncio
import gc
from typing import Any

from resolvers.loaders import when_done


async def turns(count: int) -> None:
    for _ in range(count):
        await asyncio.sleep(0)


async def test_the_callback_waits_for_the_last_future_and_comes_once() -> None:
    loop = asyncio.get_running_loop()
    futures = [loop.create_future() for _ in range(3)]
    calls: list[str] = []
    when_done(futures, lambda: calls.append("done"))
    futures[2].set_result("c")
    futures[0].set_result("a")
    await turns(3)
    assert calls == []
    futures[1].set_result("b")
    await turns(3)
    assert calls == ["done"]


async def test_without_pending_futures_the_callback_comes_at_once() -> None:
    loop = asyncio.get_running_loop()
    done = loop.create_future()
    done.set_result(1)
    calls: list[str] = []
    when_done([done], lambda: calls.append("done"))
    assert calls == ["done"]
    when_done([], lambda: calls.append("nothing to wait for"))
    assert calls == ["done", "nothing to wait for"]


async def test_done_futures_beside_pending_ones_count_as_done() -> None:
    loop = asyncio.get_running_loop()
    done, pending = loop.create_future(), loop.create_future()
    done.set_result(1)
    calls: list[str] = []
    when_done([done, pending], lambda: calls.append("done"))
    await turns(2)
    assert calls == []
    pending.set_result(2)
    await turns(2)
    assert calls == ["done"]


async def test_a_failed_or_cancelled_future_does_not_stop_the_callback(
    lost_exceptions: list[dict[str, Any]],
) -> None:
    loop = asyncio.get_running_loop()
    failed_before = loop.create_future()
    failed_before.set_exception(RuntimeError("failed before"))
    failed, cancelled, fine = loop.create_future(), loop.create_future(), loop.create_future()
    calls: list[str] = []
    when_done([failed_before, failed, cancelled, fine], lambda: calls.append("done"))
    failed.set_exception(ValueError("failed"))
    cancelled.cancel()
    fine.set_result(None)
    await turns(2)
    assert calls == ["done"]
    del failed_before, failed, cancelled, fine
    gc.collect()
    assert lost_exceptions == []
