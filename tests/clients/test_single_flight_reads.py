"""The single-flight map behind `share_reads`: who gets what when a shared call ends or is abandoned."""

from __future__ import annotations

import asyncio

import pytest

from clients.errors import UpstreamUnavailable
from clients.shared_reads import SharedReads


async def test_a_caller_that_gives_up_does_not_cancel_the_call_the_others_wait_on() -> None:
    reads = SharedReads("identity", enabled=True)
    release = asyncio.Event()
    calls = 0

    async def call() -> str:
        nonlocal calls
        calls += 1
        await release.wait()
        return "answer"

    first = asyncio.create_task(reads.read("key", call))
    second = asyncio.create_task(reads.read("key", call))
    await asyncio.sleep(0)
    first.cancel()
    await asyncio.sleep(0)
    release.set()

    assert await second == "answer"
    assert first.cancelled()
    assert calls == 1
    assert reads.shared == 1


async def test_every_waiter_gets_the_shared_calls_error_and_the_next_read_calls_again() -> None:
    reads = SharedReads("identity", enabled=True)
    outcomes = iter([UpstreamUnavailable("down", upstream="identity"), "back"])

    async def call() -> str:
        await asyncio.sleep(0)
        outcome = next(outcomes)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    failed = await asyncio.gather(reads.read("key", call), reads.read("key", call), return_exceptions=True)

    assert all(isinstance(result, UpstreamUnavailable) for result in failed)
    assert await reads.read("key", call) == "back"


async def test_different_keys_never_share() -> None:
    reads = SharedReads("identity", enabled=True)

    async def call(value: str) -> str:
        await asyncio.sleep(0)
        return value

    assert await asyncio.gather(reads.read("a", lambda: call("a")), reads.read("b", lambda: call("b"))) == ["a", "b"]
    assert reads.shared == 0


@pytest.mark.parametrize("wrote", [False, True])
async def test_a_write_keeps_later_reads_off_the_calls_in_flight(wrote: bool) -> None:
    reads = SharedReads("identity", enabled=True)
    release = asyncio.Event()
    calls = 0

    async def call() -> int:
        nonlocal calls
        calls += 1
        this_call = calls
        await release.wait()
        return this_call

    first = asyncio.create_task(reads.read("key", call))
    await asyncio.sleep(0)
    if wrote:
        reads.wrote()
    second = asyncio.create_task(reads.read("key", call))
    await asyncio.sleep(0)
    release.set()

    assert (await first, await second) == ((1, 2) if wrote else (1, 1))
