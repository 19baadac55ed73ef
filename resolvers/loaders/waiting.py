"""Waiting for a set of futures without a task: ``when_done`` calls back once every one is done."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any


class _Countdown:
    """The done callback of each future ``when_done`` waits for: ``callback`` once the last is done."""

    __slots__ = ("callback", "remaining")

    def __init__(self, remaining: int, callback: Callable[[], None]) -> None:
        self.remaining = remaining
        self.callback = callback

    def __call__(self, future: asyncio.Future[Any]) -> None:
        if not future.cancelled():
            future.exception()  # retrieved: a failure is for whoever awaits it, not logged as lost
        self.remaining -= 1
        if self.remaining == 0:
            self.callback()


def when_done(futures: Sequence[asyncio.Future[Any]], callback: Callable[[], None]) -> None:
    """``callback()`` once every one of ``futures`` is done, whether with a result, an exception
    or cancelled (at once if none is pending); what ``asyncio.gather(*futures,
    return_exceptions=True)`` with a done callback does, without its future and list of results."""
    pending = []
    for future in futures:
        if not future.done():
            pending.append(future)
        elif not future.cancelled():
            future.exception()
    if not pending:
        callback()
        return
    countdown = _Countdown(len(pending), callback)
    for future in pending:
        future.add_done_callback(countdown)


def resolve(waiter: asyncio.Future[None]) -> None:
    """``waiter`` resolved, unless it is done already (cancelled with the task awaiting it)."""
    if not waiter.done():
        waiter.set_result(None)
