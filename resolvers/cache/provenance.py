"""What one request's answer was built from: the tags of every cache entry its loads returned and
the time the first of them stops being fresh. The response cache stores an answer under these
tags, for no longer than that, and not at all once a load failed or was served past fresh."""

from __future__ import annotations

import math
from collections.abc import Iterable


class Provenance:
    """Per request, filled by ``RequestCache.load`` when the request may be stored as a response."""

    __slots__ = ("complete", "fresh_until", "started", "tags")

    def __init__(self, *, started: float) -> None:
        self.started = started
        """When the request began (cache clock): its loads were fetched after this."""
        self.tags: set[str] = set()
        self.fresh_until = math.inf
        self.complete = True

    def record(self, tags: Iterable[str], fresh_until: float) -> None:
        self.tags.update(tags)
        self.fresh_until = min(self.fresh_until, fresh_until)

    def spoil(self) -> None:
        """A load failed: the answer carries an error or a fallback and must not be reused."""
        self.complete = False
