"""prometheus-client's multiprocess values with the process id read once per process.

In multiprocess mode (``mobius serve --workers N``) every write of a metric value asks
``os.getpid()`` whether the process has forked since it opened its files: a system call each,
about 57 per cold dashboard. The id is kept here instead and renewed in a forked child, which is
all that check is for.
"""

from __future__ import annotations

import os
import sys

_MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"
"""prometheus-client's (``mobius.telemetry.multiprocess`` sets it; importing that would import
prometheus-client)."""
_pid = [os.getpid()]


def _renew() -> None:
    _pid[0] = os.getpid()


os.register_at_fork(after_in_child=_renew)


def process_id() -> int:
    """This process's id, as of its start or its last fork."""
    return _pid[0]


def use_kept_process_id() -> None:
    """In multiprocess mode, before prometheus-client is imported (so before any value exists: one
    made by its own value class would map the same file a second time), make its values ask
    ``process_id``."""
    if not os.environ.get(_MULTIPROCESS_ENV) or "prometheus_client" in sys.modules:
        return
    from prometheus_client import values  # noqa: PLC0415  (only in multiprocess mode, and first)

    values.ValueClass = values.MultiProcessValue(process_identifier=process_id)  # type: ignore[no-untyped-call]
