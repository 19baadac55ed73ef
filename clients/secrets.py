"""Secrets come from sources, never from code; their text never reaches a repr, a log or an error."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Protocol, runtime_checkable


@runtime_checkable
class SecretSource(Protocol):
    """Where a credential's current value comes from. ``reveal`` is called per use, so a
    rotated value is picked up by the next request."""

    def reveal(self) -> str: ...


class StaticSecret:
    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "StaticSecret('**********')"

    __str__ = __repr__


class EnvSecret:
    """Read from an environment variable at each use."""

    __slots__ = ("_name",)

    def __init__(self, name: str) -> None:
        self._name = name

    def reveal(self) -> str:
        value = os.environ.get(self._name)
        if value is None:
            raise LookupError(f"environment variable {self._name} is not set")
        return value

    def __repr__(self) -> str:
        return f"EnvSecret({self._name!r})"


class FileSecret:
    """A mounted secret file, re-read when its modification time or size changes."""

    __slots__ = ("_path", "_stamp", "_value")

    def __init__(self, path: Path) -> None:
        self._path = path
        self._stamp: tuple[int, int] | None = None
        self._value = ""

    def reveal(self) -> str:
        stat = self._path.stat()
        stamp = (stat.st_mtime_ns, stat.st_size)
        if stamp != self._stamp:
            self._value = self._path.read_text(encoding="utf-8").strip()
            self._stamp = stamp
        return self._value

    def __repr__(self) -> str:
        return f"FileSecret({str(self._path)!r})"
