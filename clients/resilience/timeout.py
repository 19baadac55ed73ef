"""The time limit of one attempt: ``asyncio.timeout``'s behaviour as a plain context manager.

Every upstream attempt runs under one, so it costs no coroutine and no timer of its own: entering
puts the attempt's limit among its loop's ``Deadlines``, one timer per loop armed for the earliest
limit of the attempts in flight, which cancels the task of each attempt whose limit has come;
leaving marks the attempt finished and, if its limit came and nobody else asked to cancel the task
meanwhile, turns the ``CancelledError`` into ``TimeoutError`` (a cancellation from outside stays a
cancellation, as with ``asyncio.timeout``).
"""

from __future__ import annotations

import asyncio
from asyncio import current_task, get_running_loop
from heapq import heappop, heappush
from math import inf
from types import TracebackType
from typing import Any


class AttemptTimeout:
    """``with AttemptTimeout(seconds):`` inside a task; the body's awaits are cut at the limit."""

    def __init__(self, seconds: float) -> None:
        loop = get_running_loop()
        task = current_task(loop)
        if task is None:
            raise RuntimeError("an attempt's timeout needs a task")
        self._task: asyncio.Task[Any] | None = task
        self._cancelling = task.cancelling()
        self._expired = False
        self.finished = False
        deadlines(loop).add(loop.time() + seconds, self)

    def expire(self) -> None:
        """The limit has come: the task is cancelled (``__exit__`` tells it from another's cancellation)."""
        if self._task is not None:
            self._task.cancel()
            self._expired = True

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.finished = True
        task, self._task = self._task, None  # a finished attempt waiting in the heap holds no task
        expired = self._expired and task is not None and task.uncancel() <= self._cancelling
        if expired and kind is asyncio.CancelledError:
            raise TimeoutError from exc


class Deadlines:
    """The limits of one loop's attempts in flight, under one timer armed for the earliest.

    A finished attempt stays in the heap until it comes to the front: the next attempt's entry
    drops the finished ones before it, and the timer, when it fires, those it meets. The timer is
    armed again only for a limit earlier than the one it waits for (an attempt whose request's
    deadline leaves it less time than the others), or when it has fired."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self._heap: list[tuple[float, int, AttemptTimeout]] = []
        self._added = 0
        self._timer: asyncio.TimerHandle | None = None
        self._armed_for = inf

    def add(self, when: float, attempt: AttemptTimeout) -> None:
        heap = self._heap
        while heap and heap[0][2].finished:
            heappop(heap)
        self._added += 1
        heappush(heap, (when, self._added, attempt))
        if when < self._armed_for:
            self._arm(when)

    def _arm(self, when: float) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = self.loop.call_at(when, self._fire)
        self._armed_for = when

    def _fire(self) -> None:
        """Cut every attempt whose limit has come (the one the timer was armed for among them, as
        its own timer would have), then arm the timer for the next limit."""
        due = max(self.loop.time(), self._armed_for)
        self._timer = None
        self._armed_for = inf
        heap = self._heap
        while heap:
            when, _, attempt = heap[0]
            if not attempt.finished and when > due:
                self._arm(when)
                return
            heappop(heap)
            if not attempt.finished:
                attempt.expire()


class _Last:
    """The deadlines of the loop that made the last attempt (one loop per process serves; in
    tests, a loop per test)."""

    def __init__(self) -> None:
        self.deadlines: Deadlines | None = None


_last = _Last()


def deadlines(loop: asyncio.AbstractEventLoop) -> Deadlines:
    """``loop``'s deadlines. A loop other than the last one's gets deadlines of its own; the ones
    it replaces keep their timer and cut their attempts as before."""
    last = _last.deadlines
    if last is None or last.loop is not loop:
        last = _last.deadlines = Deadlines(loop)
    return last
