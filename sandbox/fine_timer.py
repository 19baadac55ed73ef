"""Waits that end on time, to the tenth of a millisecond, on a loop whose timers count milliseconds.

uvloop (libuv) rounds a timer's delay to whole milliseconds and counts it from the loop's cached
millisecond clock, and the poll that waits for it times out in whole milliseconds: a 20 ms sleep
ends 20-21 ms later (20.8 at the median on the benchmark host), and a pacer that shortens the wait
by a fraction of a millisecond changes nothing. On Linux, `FineTimer` arms one timerfd at the
earliest pending deadline (absolute, in nanoseconds of CLOCK_MONOTONIC, the clock of
`time.monotonic`); the loop's poll wakes when it fires. Elsewhere it falls back to `asyncio.sleep`.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import heapq
import itertools
import os
import sys
import time

_CLOCK_MONOTONIC = 1
_TFD_NONBLOCK = os.O_NONBLOCK
_TFD_CLOEXEC = os.O_CLOEXEC
_TFD_TIMER_ABSTIME = 1
_EARLY_S = 20e-6
"""A deadline this close is due now: the timerfd fires a few microseconds early at most."""


class _Timespec(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long)]


class _Itimerspec(ctypes.Structure):
    _fields_ = [("it_interval", _Timespec), ("it_value", _Timespec)]


def _libc() -> ctypes.CDLL | None:
    if not sys.platform.startswith("linux"):
        return None
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    return libc if hasattr(libc, "timerfd_create") else None


_LIBC = _libc()


class FineTimer:
    """Sleeps until a `time.monotonic()` deadline, for the loop it is first used on."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._fd = -1
        self._pending: list[tuple[float, int, asyncio.Future[None]]] = []
        self._order = itertools.count()

    async def sleep_until(self, deadline: float) -> None:
        loop = asyncio.get_running_loop()
        if _LIBC is None:
            await asyncio.sleep(max(0.0, deadline - time.monotonic()))
            return
        if loop is not self._loop:
            self._bind(loop)
        waiter: asyncio.Future[None] = loop.create_future()
        heapq.heappush(self._pending, (deadline, next(self._order), waiter))
        if self._pending[0][2] is waiter:
            self._arm(deadline)
        await waiter

    def close(self) -> None:
        """Forget the loop and close the timerfd (the loop may already be closed)."""
        if self._fd >= 0:
            if self._loop is not None and not self._loop.is_closed():
                self._loop.remove_reader(self._fd)
            os.close(self._fd)
        self._loop, self._fd, self._pending = None, -1, []

    def _bind(self, loop: asyncio.AbstractEventLoop) -> None:
        assert _LIBC is not None
        self.close()
        fd = _LIBC.timerfd_create(_CLOCK_MONOTONIC, _TFD_NONBLOCK | _TFD_CLOEXEC)
        if fd < 0:
            raise OSError(ctypes.get_errno(), "timerfd_create")
        loop.add_reader(fd, self._fired)
        self._loop, self._fd = loop, fd

    def _arm(self, deadline: float) -> None:
        """Fire at `deadline` (0 disarms); a deadline already past fires at once."""
        assert _LIBC is not None
        seconds, fraction = divmod(deadline, 1.0)
        spec = _Itimerspec(it_value=_Timespec(int(seconds), int(fraction * 1e9)))
        if _LIBC.timerfd_settime(self._fd, _TFD_TIMER_ABSTIME, ctypes.byref(spec), None) < 0:
            raise OSError(ctypes.get_errno(), "timerfd_settime")

    def _fired(self) -> None:
        try:
            os.read(self._fd, 8)
        except BlockingIOError:
            return
        due = time.monotonic() + _EARLY_S
        pending = self._pending
        while pending and pending[0][0] <= due:
            waiter = heapq.heappop(pending)[2]
            if not waiter.done():
                waiter.set_result(None)
        self._arm(pending[0][0] if pending else 0.0)
