"""Awaiting many coroutines at once, stepped together rather than each in a task of its own.

A response's pending fields and list items are coroutines that mostly wait on the same few
dataloader batches. graphql-core's ``gather_with_cancel`` wraps each in a task: a task object,
a context copy and an event-loop callback per item and per wake-up. Here one coroutine steps
them all: each runs until it waits on a future (or finishes), then the group waits until one of
those futures is done and resumes the ones that are ready. Every coroutine of the group reaches
its next wait before the group waits, so loads they start in one round are batched together,
as they are with tasks.

Semantics follow graphql-core's ``gather_with_cancel`` over tasks: results in order; the first
error ends the group and is raised once the others are settled. The round in progress is still
stepped to its end, as the tasks scheduled in the same loop turn would run, so every coroutine
started gets to run (and a nullable field that fails at once reports its own error, as it does on
graphql-core's path); the ones still waiting after that get ``CancelledError`` and their clean-up
is awaited. Cancelling the awaiting task cancels them all the same way. Unlike tasks, the
coroutines share the context of the coroutine that awaits them: a context variable set by one is
seen by the others.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Coroutine, Iterable, Sequence
from functools import partial
from types import CoroutineType
from typing import Any, TypeVar

_Blocker = asyncio.Future[Any] | None
"""What a suspended coroutine waits on: a future, or ``None`` after a bare ``yield`` (``sleep(0)``)."""


async def _awaiting(awaitable: Awaitable[Any]) -> Any:
    return await awaitable


async def step_together(awaitables: Sequence[Awaitable[Any]]) -> list[Any]:
    group = _Group(awaitables)
    runnable = list(range(len(group.coroutines)))
    while True:
        for index in runnable:
            group.step(index)
        blocked = group.blocked
        if not blocked:
            break
        runnable = group.to_cancel() if group.failure is not None else []
        if not runnable:
            try:
                await _first_done(blocked.values())
            except asyncio.CancelledError as cancelled:
                group.fail(cancelled)
                runnable = group.to_cancel()
            else:
                runnable = [index for index, blocker in blocked.items() if blocker is None or blocker.done()]
        for index in runnable:
            del blocked[index]
    if group.failure is not None:
        raise group.failure
    return group.results


class _Group:
    def __init__(self, awaitables: Sequence[Awaitable[Any]]) -> None:
        self.coroutines: list[Coroutine[Any, Any, Any]] = [
            awaitable if type(awaitable) is CoroutineType else _awaiting(awaitable) for awaitable in awaitables
        ]
        self.results: list[Any] = [None] * len(self.coroutines)
        self.blocked: dict[int, _Blocker] = {}
        self.failure: BaseException | None = None
        self.cancelled: set[int] = set()
        """Coroutines chosen to be cancelled (they may still be cleaning up)."""
        self.to_throw: set[int] = set()
        """Of those, the ones still to get their ``CancelledError``."""

    def step(self, index: int) -> None:
        """Run one coroutine to its next wait (noted in ``blocked``) or to its end."""
        coroutine = self.coroutines[index]
        try:
            if index in self.to_throw:
                self.to_throw.discard(index)
                yielded = coroutine.throw(asyncio.CancelledError())
            else:
                yielded = coroutine.send(None)
        except StopIteration as stop:
            self.results[index] = stop.value
            return
        except BaseException as error:
            self.fail(error)
            return
        if yielded is not None:
            if not getattr(yielded, "_asyncio_future_blocking", False):
                coroutine.close()
                raise RuntimeError(f"a pending field yielded {yielded!r}, not a future")
            yielded._asyncio_future_blocking = False
        self.blocked[index] = yielded

    def fail(self, error: BaseException) -> None:
        """Keep the first error (the one raised); the others are settled, as ``gather`` does."""
        if self.failure is None:
            self.failure = error

    def to_cancel(self) -> list[int]:
        """The waiting coroutines not cancelled yet, now to be stepped with a ``CancelledError``."""
        chosen = [index for index in self.blocked if index not in self.cancelled]
        self.cancelled.update(chosen)
        self.to_throw.update(chosen)
        return chosen


async def _first_done(blockers: Iterable[_Blocker]) -> None:
    """Until one of ``blockers`` is done (at once, after one loop turn, for a bare yield).

    The wake-up stays registered on the futures still pending: it does nothing once the waiter is
    done, and those futures are the group's own loads, soon done themselves."""
    loop = asyncio.get_running_loop()
    waiter: asyncio.Future[None] = loop.create_future()
    wake = partial(_wake, waiter)
    for blocker in blockers:
        if blocker is None or blocker.done():
            loop.call_soon(wake, None)
            break
        blocker.add_done_callback(wake)
    await waiter


def _wake(waiter: asyncio.Future[None], _: object) -> None:
    if not waiter.done():
        waiter.set_result(None)


Container = TypeVar("Container", dict[str, Any], list[Any])


async def await_at(container: Container, keys: list[Any]) -> Container:
    """The container once the awaitable at each of ``keys`` (an object's fields or a list's
    indices) has been awaited into its place, concurrently."""
    if len(keys) == 1:
        key = keys[0]
        container[key] = await container[key]
    else:
        awaited = await step_together([container[key] for key in keys])
        for key, value in zip(keys, awaited, strict=True):
            container[key] = value
    return container
