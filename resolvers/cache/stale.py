"""Values served from a stale-if-error entry in one request, so the schema can mark their paths."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class StaleInfo:
    upstream: str
    age_s: float


@dataclass(frozen=True)
class StaleMark:
    path: tuple[str | int, ...]
    upstream: str
    age_s: float


class StaleLog:
    """Per request. Values are recorded by identity: a loader hands the resolver the very object."""

    __slots__ = ("_by_value", "marks")

    def __init__(self) -> None:
        self._by_value: dict[int, tuple[object, StaleInfo]] = {}
        self.marks: list[StaleMark] = []

    def record(self, value: object, info: StaleInfo) -> None:
        self._by_value[id(value)] = (value, info)  # the value is kept so its id stays unique

    def lookup(self, value: object) -> StaleInfo | None:
        if not self._by_value:
            return None
        found = self._by_value.get(id(value))
        return found[1] if found is not None and found[0] is value else None

    def mark(self, path: tuple[str | int, ...], info: StaleInfo) -> None:
        self.marks.append(StaleMark(path=path, upstream=info.upstream, age_s=info.age_s))
