"""The time limit of one attempt: ``asyncio.timeout``'s behaviour as a plain context manager.

Every upstream attempt runs under one, so it costs one timer handle and no coroutines: entering
schedules the task's cancellation at the limit; leaving cancels the timer and, if it fired and
nobody else asked to cancel the task meanwhile, turns the ``CancelledError`` into ``TimeoutError``
(a cancellation from outside stays a cancellation, as with ``asyncio.timeout``).
"""

from __future__ import annotations

import asyncio
from types import TracebackType


class AttemptTimeout:
    """``with AttemptTimeout(seconds):`` inside a task; the body's awaits are cut at the limit."""

    __slots__ = ("_cancelling", "_expired", "_handle", "_task")

    def __init__(self, seconds: float) -> None:
        loop = asyncio.get_running_loop()
        task = asyncio.current_task(loop)
        if task is None:
            raise RuntimeError("an attempt's timeout needs a task")
        self._task = task
        self._cancelling = task.cancelling()
        self._expired = False
        self._handle = loop.call_at(loop.time() + seconds, self._expire)

    def _expire(self) -> None:
        self._task.cancel()
        self._expired = True

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self._handle.cancel()
        if self._expired and self._task.uncancel() <= self._cancelling and kind is asyncio.CancelledError:
            raise TimeoutError from exc
