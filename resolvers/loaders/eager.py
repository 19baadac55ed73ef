"""A task whose coroutine takes its first step at once, in the caller's loop turn: what Python
3.12's eager tasks do, for 3.11.

``loop.create_task`` runs a coroutine's first step only when the loop reaches it, after every
callback already queued (the completion of whatever else was answered in that turn). A batch
started with ``start_eagerly`` has sent its request by the time the call returns, if nothing
made it wait before the send.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Coroutine
from types import TracebackType
from typing import Any, TypeVar

T = TypeVar("T")

_NOT_YET: Any = object()
"""What the first step left for the task, before it is taken."""


class _Resumed:
    """The task's coroutine: a coroutine whose first step ran eagerly, continued from there.

    The task's own first step hands over what the eager step left (the future it waits for, so
    that the task waits for it; its result, returned; its exception, raised); every later step
    (a result or an exception the task sends in) goes on to the coroutine itself."""

    __slots__ = ("_coro", "_left")

    def __init__(self, coro: Coroutine[Any, Any, Any]) -> None:
        self._coro = coro
        self._left: Any = _NOT_YET

    def first(self) -> None:
        """The coroutine's first step; what it yields, returns or raises is left for the task."""
        try:
            self._left = self._coro.send(None)
        except BaseException as outcome:  # the task's to report, as it would have
            self._left = _Outcome(outcome)

    def send(self, value: Any) -> Any:
        left = self._left
        if left is _NOT_YET:
            return self._coro.send(value)
        self._left = _NOT_YET
        if isinstance(left, _Outcome):
            raise left.outcome
        return left

    def throw(self, kind: Any, value: BaseException | None = None, traceback: TracebackType | None = None) -> Any:
        """An exception for the coroutine (a cancellation): before the task took what the first
        step left, the future that step waits for is cancelled with it, as ``Task.cancel`` cancels
        the future its task waits for."""
        left = self._left
        self._left = _NOT_YET
        if isinstance(left, _Outcome):
            raise left.outcome
        if isinstance(left, asyncio.Future):
            left.cancel()
        if value is None:
            return self._coro.throw(kind)
        return self._coro.throw(value)

    def close(self) -> None:
        self._coro.close()


Coroutine.register(_Resumed)


class _Outcome:
    """How the first step ended, when it did not wait: ``StopIteration`` (returned) or an exception."""

    __slots__ = ("outcome",)

    def __init__(self, outcome: BaseException) -> None:
        self.outcome = outcome


def start_eagerly(coro: Coroutine[Any, Any, T], loop: asyncio.AbstractEventLoop) -> asyncio.Task[T]:
    """A task of ``loop`` running ``coro``, whose first step runs now, before this returns.

    During that step the task is the current task (what ``asyncio.timeout`` and the attempts'
    timeouts cancel) and the step runs in the task's context (a copy of the caller's), so a
    coroutine cannot tell it from a task's first step. What it returns or raises at once is the
    task's result or exception, as if the task had run it."""
    context = contextvars.copy_context()
    resumed = _Resumed(coro)
    task: asyncio.Task[T] = loop.create_task(resumed, context=context)  # type: ignore[arg-type]
    caller = asyncio.current_task(loop)
    if caller is not None:
        asyncio.tasks._leave_task(loop, caller)
    asyncio.tasks._enter_task(loop, task)
    try:
        context.run(resumed.first)
    finally:
        asyncio.tasks._leave_task(loop, task)
        if caller is not None:
            asyncio.tasks._enter_task(loop, caller)
    return task
