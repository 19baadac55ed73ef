"""The bulkhead: bounded concurrency, a short FIFO queue, fail fast on overflow."""

from __future__ import annotations

import asyncio

import pytest

from clients.errors import BulkheadFull
from clients.resilience.bulkhead import Bulkhead, BulkheadPolicy


async def hold(bulkhead: Bulkhead, release: asyncio.Event, log: list[int], n: int) -> None:
    async with bulkhead.slot():
        log.append(n)
        await release.wait()


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_overflow_beyond_slots_and_queue_fails_fast() -> None:
    bulkhead = Bulkhead(upstream="billing", policy=BulkheadPolicy(max_concurrent=2, max_queue=1, max_wait_s=60))
    release = asyncio.Event()
    entered: list[int] = []
    holders = [asyncio.create_task(hold(bulkhead, release, entered, n)) for n in range(3)]
    await settle()

    assert entered == [0, 1]
    assert (bulkhead.in_flight, bulkhead.queued) == (2, 1)
    with pytest.raises(BulkheadFull) as caught:
        async with bulkhead.slot():
            pass
    assert caught.value.local
    assert caught.value.code == "UPSTREAM_UNAVAILABLE"

    release.set()
    await asyncio.gather(*holders)
    assert entered == [0, 1, 2]  # the queued call got a slot, in order
    assert (bulkhead.in_flight, bulkhead.queued) == (0, 0)


async def test_a_cancelled_queued_call_leaves_no_slot_behind() -> None:
    bulkhead = Bulkhead(upstream="billing", policy=BulkheadPolicy(max_concurrent=1, max_queue=2, max_wait_s=60))
    release = asyncio.Event()
    entered: list[int] = []
    first = asyncio.create_task(hold(bulkhead, release, entered, 0))
    queued = asyncio.create_task(hold(bulkhead, release, entered, 1))
    last = asyncio.create_task(hold(bulkhead, release, entered, 2))
    await settle()

    queued.cancel()
    await settle()
    release.set()
    await asyncio.gather(first, last)

    assert queued.cancelled()
    assert entered == [0, 2]
    assert (bulkhead.in_flight, bulkhead.queued) == (0, 0)


async def test_a_queued_call_gives_up_after_its_wait() -> None:
    bulkhead = Bulkhead(upstream="billing", policy=BulkheadPolicy(max_concurrent=1, max_queue=1, max_wait_s=60))
    release = asyncio.Event()
    holder = asyncio.create_task(hold(bulkhead, release, [], 0))
    await settle()

    with pytest.raises(BulkheadFull):
        async with bulkhead.slot(max_wait_s=0.01):
            pass

    assert bulkhead.queued == 0
    release.set()
    await holder
    assert bulkhead.in_flight == 0
