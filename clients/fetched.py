"""What a batch of a read answers (``Fetched``): the answers in key order, and the answers of other
reads that came in the same request."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

if TYPE_CHECKING:
    from clients.declaration import Read

K = TypeVar("K", bound=Hashable)

Answer = Any
"""What a batch answers per key: a value, ``None`` (not found) or an ``UpstreamError`` instance."""


@dataclass(frozen=True, slots=True)
class Fetched(Generic[K]):
    """A batch's answers in key order, and the answers of other reads that came in the same request
    (issue pages nested in a projects page): the loader primes those and caches them."""

    answers: Sequence[Answer]
    also: Sequence[tuple[Read[Any, Any, Any], Hashable, Answer]] = ()
