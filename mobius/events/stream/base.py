"""The durable stream's contract, kept by its two implementations (Redis Streams and in-process).

Intake (``admit``) records the event's id and appends it in one atomic step, so a crash can leave
neither a recorded id without its entry nor an entry without its id. The worker reads entries as a
consumer of one group, acknowledges an entry only after its effect, takes over entries another
consumer left unacknowledged for ``claim_idle_s`` and moves an entry delivered too often to the
dead-letter list.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from mobius.events.model import Event

Admission = Literal["accepted", "replay", "stale"]
"""``replay``: this id was seen within ``replay_ttl_s``; ``stale``: the entity already has this
version or a newer one applied. Neither is appended."""

MAX_ID_CHARS = 200


@dataclass(frozen=True, slots=True)
class StreamEntry:
    entry_id: str
    payload: bytes
    deliveries: int
    """How many times the group handed this entry out, this time included."""


@dataclass(frozen=True, slots=True)
class DeadLetter:
    entry_id: str
    payload: bytes
    reason: str
    deliveries: int


@dataclass(frozen=True, slots=True)
class Backlog:
    waiting: int
    """Entries in the stream not yet acknowledged (delivered or not)."""
    pending: int
    """Entries delivered to a consumer and not yet acknowledged."""
    dead: int
    oldest_age_s: float
    """Age of the oldest unacknowledged entry (0 with none): how far the worker lags behind."""


class EventStream(Protocol):
    """An ``EventSink`` (``append``) plus what the worker and the CLI need."""

    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def admit(self, event: Event) -> Admission: ...

    async def append(self, event: Event) -> None: ...

    async def read(self, consumer: str, *, count: int, block_s: float) -> list[StreamEntry]: ...

    async def claim(self, consumer: str, *, idle_s: float, count: int) -> list[StreamEntry]: ...

    async def resume(self, consumer: str, *, after: str, count: int) -> list[StreamEntry]:
        """Entries past ``after`` (an entry id; ``0-0`` for all) delivered to ``consumer`` before and
        not acknowledged (a restart under the same name), oldest first, handed out again."""
        ...

    async def ack(self, entry_ids: Sequence[str]) -> None: ...

    async def applied_version(self, event: Event) -> int | None: ...

    async def mark_applied(self, event: Event) -> None: ...

    async def dead_letter(self, entry: StreamEntry, reason: str) -> None: ...

    async def dead_letters(self, *, count: int) -> list[DeadLetter]: ...

    async def replay_dead(self, entry_ids: Sequence[str]) -> int: ...

    async def drop_dead(self, entry_ids: Sequence[str]) -> int: ...

    async def backlog(self) -> Backlog: ...


def entry_order(entry_id: str) -> tuple[int, int]:
    millis, _, seq = entry_id.partition("-")
    return int(millis), int(seq or 0)


def entry_age_s(entry_id: str, now_s: float) -> float:
    """Seconds since a stream entry id (``<ms>-<seq>``) was made."""
    millis, _, _ = entry_id.partition("-")
    try:
        return max(0.0, now_s - int(millis) / 1000)
    except ValueError:
        return 0.0
