"""``isawaitable`` answered once per type: the executor asks it of most values it completes.

graphql-core's test (Strawberry's faster variant of it) checks a value's type against coroutines,
iterable-coroutine generators and ``__await__``. Apart from generators (whose flag is per code
object) the answer depends on the type alone, so it is remembered by type. Types that answer
attribute look-ups themselves (``__getattr__``) are asked every time, as before.
"""

from __future__ import annotations

from types import GeneratorType
from typing import Any, Final

from strawberry.execution import optimized_is_awaitable

_MAX_TYPES: Final = 1024
"""A bound on the memo; past it, new types are asked every time."""

_by_type: Final[dict[type, bool]] = {}


def is_awaitable(value: Any) -> bool:
    kind = type(value)
    known = _by_type.get(kind)
    if known is not None:
        return known
    answer = optimized_is_awaitable(value)
    if kind is not GeneratorType and not hasattr(kind, "__getattr__") and len(_by_type) < _MAX_TYPES:
        _by_type[kind] = answer
    return answer


def known_not_awaitable(kind: type) -> bool:
    """Values of ``kind`` were found not awaitable by their type alone (no ``__getattr__``)."""
    return _by_type.get(kind) is False
