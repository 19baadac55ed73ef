"""The response cache: whole serialized responses of query operations.

An entry is keyed by a digest of the schema version, the document, the operation name, the
canonical variables and the caller's identity, so a response never crosses callers, documents or
deploys. It is tagged with the tags of every entity-cache entry it was built from (its
``Provenance``) and shares the entity cache's store and tag sets: invalidating an entity or a tag
drops the responses that carry it, in the store and, through the engine's local eviction and its
pub/sub, in every replica's in-process level. A response lives no longer than ``max_ttl_s`` nor
than the freshness its entries have left.

Store layout: ``c:responses:<version>:{<digest>}`` (under ``c:``, so ``invalidate_all`` clears it;
the digest is a hash tag, so the store's fence of the key shares its slot in a Redis Cluster);
the value is a small header (wire format, fresh-until, length of the tag list), the tags as JSON and
the response bytes as they were sent.
"""

from __future__ import annotations

import hashlib
import struct
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import orjson

from clients.instruments import ResponseCacheInstruments
from resolvers.cache.entry import Entry
from resolvers.cache.l1 import L1Cache
from resolvers.cache.policy import L1Policy
from resolvers.cache.provenance import Provenance
from resolvers.cache.store import CacheStore, CacheUnavailable, StoreWrite

WIRE_FORMAT = 1
_HEADER = struct.Struct("<BdI")  # wire format, fresh until (cache clock seconds), bytes of the tag list


@dataclass(frozen=True, slots=True, kw_only=True)
class ResponsePolicy:
    max_ttl_s: float = 60.0
    max_entry_bytes: int = 1_000_000
    l1: L1Policy | None = field(default_factory=lambda: L1Policy(max_entries=1_000))
    """In front of a shared (Redis) store; ``None`` on the in-process store."""


@dataclass
class ResponseStats:
    """What ``cacheStats { responses }`` shows, counted into the metrics as it changes (the fields
    are the counters only; the instruments are a plain attribute)."""

    hits: int = 0  # from the shared store
    l1_hits: int = 0
    misses: int = 0
    stores: int = 0  # kept here and handed to the shared store (``errors`` counts the writes that failed)
    bypasses: int = 0  # executed without a look-up (not a cacheable query)
    skipped: int = 0  # executed after a miss and not stored (errors, stale data, too large, nothing fresh)
    errors: int = 0  # store calls that failed: a read is then a miss, a write is lost
    fenced: int = 0  # kept, then refused by the store: an invalidation on another replica overlapped it

    def __post_init__(self) -> None:
        self.metrics = ResponseCacheInstruments()

    def count_lookup(self, result: Literal["hit", "l1_hit", "miss", "bypass"]) -> None:
        if result == "hit":
            self.hits += 1
        elif result == "l1_hit":
            self.l1_hits += 1
        elif result == "miss":
            self.misses += 1
        else:
            self.bypasses += 1
        self.metrics.lookup(result)

    def count_write(self, result: Literal["stored", "skipped"]) -> None:
        if result == "stored":
            self.stores += 1
        else:
            self.skipped += 1
        self.metrics.write(result)

    def count_error(self) -> None:
        self.errors += 1
        self.metrics.store_error()


@dataclass(frozen=True, slots=True)
class StoredResponse:
    body: bytes
    fresh_until: float
    tags_json: bytes
    """The tags as a JSON array, decoded only when the response enters the in-process level."""

    def tags(self) -> tuple[str, ...]:
        try:
            tags = orjson.loads(self.tags_json)
        except orjson.JSONDecodeError:
            return ()
        return tuple(str(tag) for tag in tags) if isinstance(tags, list) else ()


def encode(body: bytes, fresh_until: float, tags: Sequence[str]) -> bytes:
    tags_json = orjson.dumps(list(tags))
    return _HEADER.pack(WIRE_FORMAT, fresh_until, len(tags_json)) + tags_json + body


def decode(raw: bytes) -> StoredResponse | None:
    """The response, or ``None`` for anything unreadable (a miss, never an error)."""
    if len(raw) < _HEADER.size:
        return None
    wire, fresh_until, tags_size = _HEADER.unpack_from(raw)
    start = _HEADER.size + tags_size
    if wire != WIRE_FORMAT or start > len(raw):
        return None
    return StoredResponse(body=raw[start:], fresh_until=fresh_until, tags_json=raw[_HEADER.size : start])


class ResponseCache:
    """One per gateway process. Reads go to the in-process level, then the shared store; a store
    failure is a miss. A response whose execution overlapped an invalidation is not stored (it may
    hold what was just invalidated): on this replica by ``generation``, which moves on every local
    eviction, and on any replica by the store's fences (the write carries when the request's
    provenance began, just before execution)."""

    def __init__(
        self,
        *,
        store: CacheStore,
        policy: ResponsePolicy,
        version: str,
        clock: Callable[[], float] = time.time,
        clock_skew_s: float = 0.1,
    ) -> None:
        self.store = store
        self.policy = policy
        self.version = version
        self.clock = clock
        self.l1 = L1Cache(policy.l1) if policy.l1 is not None else None
        self.stats = ResponseStats()
        self.generation = 0
        self.clock_skew_s = clock_skew_s

    def key(
        self, query: str, operation_name: str | None, variables: Mapping[str, Any] | None, identity: Sequence[object]
    ) -> str:
        """``identity`` is everything about the caller a response may depend on (name, scopes, user)."""
        material = orjson.dumps([query, operation_name, variables or {}, identity], option=orjson.OPT_SORT_KEYS)
        return f"c:responses:{self.version}:{{{hashlib.blake2b(material, digest_size=16).hexdigest()}}}"

    async def get(self, key: str) -> bytes | None:
        now = self.clock()
        if self.l1 is not None:
            entry = self.l1.get(key, now)
            if entry is not None:
                self.stats.count_lookup("l1_hit")
                body: bytes = entry.value  # type: ignore[assignment]  # this level holds response bytes
                return body
        try:
            raw = (await self.store.get_many([key]))[0]
        except CacheUnavailable:
            self.stats.count_error()
            raw = None
        found = decode(raw) if raw is not None else None
        if found is None or now >= found.fresh_until:
            self.stats.count_lookup("miss")
            return None
        self.stats.count_lookup("hit")
        self._remember(key, found.body, found.fresh_until, found.tags, now)
        return found.body

    def bypass(self) -> None:
        """A request executed without a look-up: not a cacheable query."""
        self.stats.count_lookup("bypass")

    def skip(self) -> None:
        """A missed response that may not be stored: it has errors, stale or fallback values."""
        self.stats.count_write("skipped")

    def keep(self, key: str, body: bytes, provenance: Provenance, generation: int) -> StoreWrite | None:
        """Decide, as a response built from ``provenance`` is sent, whether it may be reused
        (``generation`` is the value read before it was executed). If so it enters the in-process
        level at once and the write for the shared store is returned; else ``None``."""
        now = self.clock()
        ttl_s = min(self.policy.max_ttl_s, provenance.fresh_until - now)
        if (
            not provenance.complete
            or ttl_s <= 0
            or len(body) > self.policy.max_entry_bytes
            or generation != self.generation
        ):
            self.stats.count_write("skipped")
            return None
        fresh_until, tags = now + ttl_s, tuple(sorted(provenance.tags))
        self._remember(key, body, fresh_until, lambda: tags, now)
        self.stats.count_write("stored")
        since = provenance.started - self.clock_skew_s
        return StoreWrite(key=key, data=encode(body, fresh_until, tags), ttl_s=ttl_s, tags=tags, since=since)

    async def write(self, write: StoreWrite) -> None:
        """Hand a kept response to the shared store (after it was sent); a failure only loses it,
        a refusal (an invalidation on another replica overlapped it) drops it here too."""
        try:
            refused = await self.store.set_many([write])
        except CacheUnavailable:
            self.stats.count_error()
            return
        if refused:
            self.stats.fenced += 1
            if self.l1 is not None:
                self.l1.evict(sorted(refused), ())

    def _remember(
        self, key: str, body: bytes, fresh_until: float, tags: Callable[[], Sequence[str]], now: float
    ) -> None:
        """Keep a response in the in-process level (when there is one), evictable by its tags."""
        if self.l1 is None:
            return
        entry: Entry[object] = Entry(
            value=body,
            negative=False,
            stored_at=now,
            fresh_until=fresh_until,
            stale_until=fresh_until,
            error_until=fresh_until,
        )
        self.l1.put(key, entry, len(body), tags(), now)

    def evict(self, keys: Sequence[str], tags: Sequence[str]) -> None:
        """Every invalidation names tags (an entity is its own tag) and moves ``generation``; keys
        alone are writes a store undid (see ``RedisStore``), not a change of data."""
        if tags:
            self.generation += 1
        if self.l1 is not None:
            self.l1.evict(keys, tags)

    def clear(self) -> None:
        self.generation += 1
        if self.l1 is not None:
            self.l1.clear()
