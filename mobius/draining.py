"""A hook run when the process is asked to stop (SIGTERM, SIGINT), before the handler in place.

uvicorn answers these signals by waiting up to ``server.drain_s`` for open requests to finish;
an open subscription stream never finishes by itself, so the app ends its streams first. uvicorn
installs its handlers when it starts, so ``on_stop_signal`` is entered after that (in the app's
lifespan) and chains in front of them.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)

Handler = Callable[[int, FrameType | None], object]


@contextmanager
def on_stop_signal(callback: Callable[[], object]) -> Iterator[None]:
    """While entered, SIGTERM and SIGINT call ``callback`` and then the handler that was in place:
    a Python handler is called; under ``SIG_DFL`` the default action follows (the signal is raised
    again with the default in place). A signal that is ignored (``SIG_IGN``), or whose handler was
    not installed from Python, is left alone. The previous handlers are back on exit.

    ``callback`` runs inside the signal handler: it must only schedule work (e.g. through
    ``loop.call_soon_threadsafe``). Signals reach the main thread only: elsewhere this does nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous: dict[signal.Signals, Handler | int] = {}
    for signum in STOP_SIGNALS:
        handler = signal.getsignal(signum)
        if handler is None or handler == signal.SIG_IGN:
            continue
        previous[signum] = handler
        signal.signal(signum, _chained(callback, handler))
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _chained(callback: Callable[[], object], handler: Handler | int) -> Handler:
    def stop(signum: int, frame: FrameType | None) -> None:
        callback()
        if callable(handler):
            handler(signum, frame)
            return
        signal.signal(signum, signal.SIG_DFL)
        signal.raise_signal(signum)

    return stop
