"""The per-request deadline: bounded timeouts, refusal without budget, and propagation into the
tasks that dataloader batch functions run in."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest
from aiodataloader import DataLoader

from clients.errors import DeadlineExceeded
from clients.resilience import deadline
from tests.clock import FakeClock


def test_an_upstream_call_gets_the_smaller_of_its_timeout_and_the_budget_left() -> None:
    clock = FakeClock()
    with deadline.deadline_scope(2.0, clock):
        assert deadline.bounded_timeout(5.0, upstream="billing") == (2.0, True)
        clock.advance(1.5)
        assert deadline.bounded_timeout(5.0, upstream="billing") == (0.5, True)
        assert deadline.bounded_timeout(0.2, upstream="billing") == (0.2, False)


def test_without_a_request_the_timeout_is_the_upstreams_own() -> None:
    assert deadline.remaining_s() is None
    assert deadline.bounded_timeout(5.0, upstream="billing") == (5.0, False)


def test_nothing_starts_once_the_budget_is_spent() -> None:
    clock = FakeClock()
    with deadline.deadline_scope(1.0, clock):
        clock.advance(1.0)
        with pytest.raises(DeadlineExceeded) as caught:
            deadline.bounded_timeout(5.0, upstream="billing")

    assert caught.value.code == "DEADLINE_EXCEEDED"
    assert caught.value.upstream == "billing"
    assert caught.value.local


async def test_the_deadline_reaches_dataloader_batch_tasks() -> None:
    clock = FakeClock()
    seen: list[float | None] = []

    async def batch(keys: Sequence[str]) -> list[str]:
        seen.append(deadline.remaining_s())
        return list(keys)

    async def request() -> list[str]:
        deadline.start_deadline(0.75, clock)
        loader: DataLoader[str, str] = DataLoader(batch)
        return await asyncio.gather(loader.load("a"), loader.load("b"))

    assert await asyncio.create_task(request()) == ["a", "b"]  # a task of its own, like a request
    assert seen == [0.75]
    assert deadline.remaining_s() is None  # it did not leak out of the request's task
