"""One scrape for ``mobius serve --workers N``: prometheus-client's multiprocess mode.

Each worker keeps its values in memory-mapped files in one directory, and whichever worker answers
``/metrics`` reads them all. The directory is named by ``PROMETHEUS_MULTIPROC_DIR``, which the
workers must have before they import prometheus-client: the parent sets it before it starts them.
It is emptied at the start of every run (values of an earlier run would otherwise be added in).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from prometheus_client import multiprocess

MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"


def multiprocess_dir() -> str | None:
    """The directory this process keeps its values in, or ``None`` in single-process mode."""
    return os.environ.get(MULTIPROCESS_ENV) or None


@contextmanager
def shared_metrics_dir(configured: Path | None) -> Iterator[Path]:
    """A fresh directory for one run's workers, named in the environment they inherit; a
    temporary one (removed afterwards) unless ``configured``."""
    if configured is None:
        path = Path(tempfile.mkdtemp(prefix="mobius-metrics-"))
    else:
        path = configured
        path.mkdir(parents=True, exist_ok=True)
        for stale in path.glob("*.db"):
            stale.unlink()
    os.environ[MULTIPROCESS_ENV] = str(path)
    try:
        yield path
    finally:
        os.environ.pop(MULTIPROCESS_ENV, None)
        if configured is None:
            shutil.rmtree(path, ignore_errors=True)


def worker_stopped() -> None:
    """Drop this worker's live gauges (in flight, breaker state, retry budget) from the shared view."""
    if multiprocess_dir() is not None:
        multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]  # untyped in prometheus-client
