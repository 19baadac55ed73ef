"""Secrets come from sources, never from code; their text never reaches a repr, a log or an error.

A source answers ``reveal()`` from memory or a cheap local read (it is called for every request)
and ``refresh()`` re-reads its backing store now (called after a 401, when a rotation may have
outrun change detection). A vault-like provider fits the same two methods: keep the current lease
in memory, renew it from its own task before it ends, answer ``reveal()`` from memory and fetch
anew in ``refresh()``; then map it from a new ``SecretRef`` field in ``mobius/upstreams.py``.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

_MIN_REMEMBERED = 6
_revealed: dict[str, frozenset[str]] = {"values": frozenset()}
"""Every value remembered, as one frozen set replaced whole when a new one comes (rarely: at start
and on rotation), so the redaction of every log line reads it without a copy."""
_remembering = threading.Lock()


def remember(value: str) -> str:
    """Note a value a source produced, so log redaction can blank it whatever its shape."""
    if len(value) >= _MIN_REMEMBERED and value not in _revealed["values"]:
        with _remembering:  # two sources in two threads: neither value is lost
            _revealed["values"] = _revealed["values"] | {value}
    return value


def revealed_values() -> frozenset[str]:
    """Every secret value sources produced in this process (for redaction only)."""
    return _revealed["values"]


class SecretUnavailable(LookupError):
    """A source could not produce its value (unset variable, unreadable file). Names the source only."""


@runtime_checkable
class SecretSource(Protocol):
    """Where a credential's current value comes from."""

    def reveal(self) -> str:
        """The current value; cheap, called per request, so a rotated value is used by the next one."""
        ...

    async def refresh(self) -> None:
        """Re-read the backing store now, whatever change detection says."""
        ...


class StaticSecret:
    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = remember(value)

    def reveal(self) -> str:
        return self._value

    async def refresh(self) -> None:
        """A value given at start never changes."""

    def __repr__(self) -> str:
        return "StaticSecret('**********')"

    __str__ = __repr__


class EnvSecret:
    """Read from an environment variable at each use (so ``refresh`` has nothing to do)."""

    __slots__ = ("_name",)

    def __init__(self, name: str) -> None:
        self._name = name

    def reveal(self) -> str:
        value = os.environ.get(self._name)
        if value is None:
            raise SecretUnavailable(f"environment variable {self._name} is not set")
        return remember(value)

    async def refresh(self) -> None:
        """The variable is read at every use."""

    def __repr__(self) -> str:
        return f"EnvSecret({self._name!r})"

    __str__ = __repr__


class FileSecret:
    """A mounted secret file (Kubernetes/Docker secret), re-read when it changes.

    Every ``reveal`` stats the file and re-reads it when its inode, modification time or size
    changed: one ``stat`` is a microsecond-scale local syscall, far below the cost of the request
    it authenticates, and it notices an atomic symlink swap (Kubernetes) or a rewrite at once.
    A rewrite that keeps inode, size and a coarse mtime is caught by ``refresh`` after a 401.
    A file that reads empty is being rewritten in place (truncated, not yet written: ``echo key >
    file``): the value read before stays in use and the file is read again at the next use; with
    no value read before, the secret is unavailable.
    """

    __slots__ = ("_path", "_stamp", "_value")

    def __init__(self, path: Path) -> None:
        self._path = path
        self._stamp: tuple[int, int, int] | None = None
        self._value = ""

    def reveal(self) -> str:
        try:
            stat = self._path.stat()
        except OSError as exc:
            raise SecretUnavailable(f"secret file {str(self._path)!r} cannot be read ({type(exc).__name__})") from None
        stamp = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
        if stamp != self._stamp:
            self._read(stamp)
        return self._value

    async def refresh(self) -> None:
        self._stamp = None
        self.reveal()

    def _read(self, stamp: tuple[int, int, int]) -> None:
        try:
            value = self._path.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise SecretUnavailable(f"secret file {str(self._path)!r} cannot be read ({type(exc).__name__})") from None
        if not value:
            if not self._value:
                raise SecretUnavailable(f"secret file {str(self._path)!r} is empty")
            return
        self._value = remember(value)
        self._stamp = stamp

    def __repr__(self) -> str:
        return f"FileSecret({str(self._path)!r})"

    __str__ = __repr__


async def rotated(sources: Sequence[SecretSource], used: Sequence[str]) -> bool:
    """Refresh ``sources`` and tell whether any now reveals something other than what was ``used``."""
    changed = False
    for source, value in zip(sources, used, strict=True):
        await source.refresh()
        changed = changed or source.reveal() != value
    return changed
