"""Where a field or list item is in a response, made a graphql-core ``Path`` only where one is needed.

A leaf read, or an object read by its leaves alone, needs no path: the executor (``schema.execution``)
carries a position as a plain tuple and turns it into a ``Path`` for a resolver's info, an error to
locate or graphql-core's own path.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any, Final

from graphql.pyutils import Path

path_of: Final[Callable[[tuple[Path | None, str | int, str | None]], Path]] = partial(tuple.__new__, Path)
"""``Path(prev, key, typename)`` without the Python-level ``__new__`` a NamedTuple generates."""

At = tuple[Any, ...]
"""Where a field or list item is: its ``Path``, or the same three values (``prev``, ``key``,
``typename``) as a plain tuple whose ``prev`` may be plain too (or a list's ``ListAt``), made into
a ``Path`` (``located``) only where one is needed. (Not ``tuple[Any, str | int, str | None]``:
compiled, a fixed-length tuple is unboxed, and a ``Path`` passed as one would lose its class.)"""

_PATH: Final = Path
"""The imported class as a constant: compiled, an imported name is looked up in the module's
globals at each use, a ``Final`` one is read natively."""


def located(at: At) -> Path:
    """The ``Path`` of ``at``, equal to the one graphql-core builds for that position."""
    if type(at) is _PATH:
        return at
    prev = at[0]
    if prev is not None and type(prev) is not _PATH:
        prev = prev.located() if type(prev) is ListAt else located(prev)
    return path_of((prev, at[1], at[2]))


class ListAt:
    """Where a list is, as its items' ``prev``: made a ``Path`` once, when the first item that needs
    one asks (most need none), rather than for every list or again for every item."""

    def __init__(self, at: At) -> None:
        self.at = at
        self.path: Path | None = None

    def located(self) -> Path:
        path = self.path
        if path is None:
            path = self.path = located(self.at)
        return path
