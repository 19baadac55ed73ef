"""The read-through engine behind the loaders.

A loader batch reads the in-process L1, then the shared store in one round trip, and sends only
the misses upstream (one upstream batch); answers are written back in one round trip. Past its
fresh time an entry is served at once while one background refresh per key renews it
(stale-while-revalidate); when the upstream is unavailable an entry inside its stale-if-error window
is served instead of the error and recorded in the request's ``StaleLog``. Concurrent misses of one
key in this process share one upstream fetch (singleflight); a short store lock keeps replicas from
stampeding a hot key. A value whose fetch overlapped an invalidation of its key or tags, on any
replica, is served but not stored (the store's fences). Errors are never cached; a store failure is a
miss, never an error. Invalidation, the other half of the engine, is ``engine_invalidation``.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import structlog

from clients.errors import UpstreamUnavailable
from clients.spans import span
from resolvers.cache.engine_invalidation import EngineInvalidation, LocalLevel
from resolvers.cache.entry import Entry, decode, encode
from resolvers.cache.l1 import L1Cache
from resolvers.cache.policy import CachePolicy
from resolvers.cache.provenance import Provenance
from resolvers.cache.request import RequestCache
from resolvers.cache.stale import StaleInfo, StaleLog
from resolvers.cache.stats import CacheStats, TypeStats
from resolvers.cache.store import CacheStore, CacheUnavailable, StoreHealth, StoreWrite
from resolvers.cache.types import CacheType

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

Result = Any  # a value, ``None`` (not found) or an ``UpstreamError``: the DataLoader contract per key
Fetch = Callable[[Sequence[K]], Awaitable[Sequence[Result]]]

log = structlog.get_logger("mobius.cache")

_SAFETY_MARGIN_S = 5.0


@dataclass(frozen=True, slots=True)
class _Outcome:
    """What one key resolved to; ``stale`` is set when it is a stale-if-error answer.
    ``fresh_until`` is when the entry behind it stops being fresh (0 for an error)."""

    result: Result
    fresh_until: float
    stale: StaleInfo | None = None


class CacheEngine(EngineInvalidation):
    """One per gateway process, shared by all requests (built in the app, closed in its lifespan)."""

    def __init__(
        self,
        *,
        store: CacheStore,
        policy: CachePolicy,
        types: Sequence[CacheType[Any, Any]],
        scopes: Mapping[str, str] | None = None,
        clock: Callable[[], float] = time.time,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        missing = sorted({t.name for t in types} - set(policy.ttl_s))
        if missing:
            raise ValueError(f"no TTL configured for cache types: {', '.join(missing)}")
        self.store = store
        self.policy = policy
        self.scopes = dict(scopes or {})
        self.clock = clock
        self.jitter = jitter
        self.l1 = L1Cache(policy.l1) if policy.l1 is not None else None
        self.stats = CacheStats([t.name for t in types])
        self._entities: dict[str, list[CacheType[Any, Any]]] = {}
        for ctype in types:
            if ctype.entity is not None:
                self._entities.setdefault(ctype.entity, []).append(ctype)
        self._inflight: dict[str, asyncio.Future[_Outcome]] = {}
        self._refreshing: set[str] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._local_levels: list[LocalLevel] = []

    def request(self, *, provenance: bool = False) -> RequestCache:
        """The engine for one request; with ``provenance`` its loads are recorded for the response cache."""
        return RequestCache(self, Provenance(started=self.clock()) if provenance else None)

    def health(self) -> StoreHealth:
        return self.store.health()

    async def load_many(
        self,
        ctype: CacheType[K, V],
        keys: Sequence[K],
        fetch: Fetch[K],
        stale_log: StaleLog | None = None,
        provenance: Provenance | None = None,
    ) -> list[Result]:
        now = self.clock()
        stats = self.stats[ctype.name]
        scope = self.scopes.get(ctype.upstream, "")
        cache_keys = ctype.keys(keys, scope)
        results: list[Result] = [None] * len(keys)
        pending = []
        l1 = self.l1
        for index, cache_key in enumerate(cache_keys):
            entry = l1.get(cache_key, now) if l1 is not None else None
            if entry is None:
                pending.append(index)
            else:
                results[index] = entry.value
                if provenance is not None:
                    provenance.record(ctype.answer_tags(keys[index], entry.value), entry.fresh_until)  # type: ignore[arg-type]  # L1 holds entries of any type
        if len(pending) < len(keys):
            stats.count_l1_hits(len(keys) - len(pending))
        if pending:
            outcomes = await self._singleflight(
                ctype, [keys[i] for i in pending], [cache_keys[i] for i in pending], fetch
            )
            for index, outcome in zip(pending, outcomes, strict=True):
                results[index] = outcome.result
                if outcome.stale is not None and stale_log is not None:
                    stale_log.record(outcome.result, outcome.stale)
                if provenance is not None:
                    _record(provenance, ctype, keys[index], outcome)
        return results

    async def _singleflight(
        self, ctype: CacheType[K, V], keys: list[K], cache_keys: list[str], fetch: Fetch[K]
    ) -> list[_Outcome]:
        """Concurrent loads of one key in this process share one store read and, on a miss, one
        upstream fetch. The work runs as its own task, so a cancelled request does not cancel it for
        the others waiting on it."""
        loop = asyncio.get_running_loop()
        futures: list[asyncio.Future[_Outcome]] = []
        own: list[int] = []
        for index, cache_key in enumerate(cache_keys):
            future = self._inflight.get(cache_key)
            if future is None:
                future = loop.create_future()
                self._inflight[cache_key] = future
                own.append(index)
            else:
                self.stats[ctype.name].count_coalesced()
            futures.append(future)
        if own:
            own_futures = [futures[i] for i in own]
            own_keys = [cache_keys[i] for i in own]
            self._spawn(self._resolve_into(ctype, [keys[i] for i in own], own_keys, fetch, own_futures))
        return [await asyncio.shield(future) for future in futures]

    async def _resolve_into(
        self,
        ctype: CacheType[K, V],
        keys: list[K],
        cache_keys: list[str],
        fetch: Fetch[K],
        futures: list[asyncio.Future[_Outcome]],
    ) -> None:
        try:
            outcomes = await self._resolve(ctype, keys, cache_keys, fetch)
        except BaseException as exc:
            for cache_key, future in zip(cache_keys, futures, strict=True):
                self._inflight.pop(cache_key, None)
                if not future.done():
                    future.set_exception(exc)
            raise
        for cache_key, future, outcome in zip(cache_keys, futures, outcomes, strict=True):
            self._inflight.pop(cache_key, None)
            future.set_result(outcome)

    async def _resolve(
        self, ctype: CacheType[K, V], keys: list[K], cache_keys: list[str], fetch: Fetch[K]
    ) -> list[_Outcome]:
        """Store first (one round trip), then only the misses upstream (one batch)."""
        stats = self.stats[ctype.name]
        stored = await self._read(ctype, cache_keys, stats)
        now = self.clock()
        outcomes: dict[int, _Outcome] = {}
        misses: list[int] = []
        fallbacks: dict[int, Entry[V]] = {}
        revalidate: list[int] = []
        hits = 0
        for index, entry in enumerate(stored):
            if entry is not None and entry.is_fresh(now):
                outcomes[index] = _Outcome(entry.value, entry.fresh_until)
                hits += 1
                self._remember(ctype, keys[index], cache_keys[index], entry, now)
            elif entry is not None and entry.is_revalidatable(now):
                outcomes[index] = _Outcome(entry.value, entry.fresh_until)
                stats.count_stale()
                revalidate.append(index)
            else:
                misses.append(index)
                stats.count_miss()
                if entry is not None and entry.serves_on_error(now):
                    fallbacks[index] = entry
        if hits:
            stats.count_hits(hits)
        if revalidate:
            self._revalidate(ctype, [keys[i] for i in revalidate], [cache_keys[i] for i in revalidate], fetch)
        if misses:
            fetched = await self._fetch_and_store(
                ctype, [keys[i] for i in misses], [cache_keys[i] for i in misses], fetch
            )
            for index, fetched_outcome in zip(misses, fetched, strict=True):
                fallback = fallbacks.get(index)
                if isinstance(fetched_outcome.result, UpstreamUnavailable) and fallback is not None:
                    stats.count_stale()
                    age_s = round(max(0.0, self.clock() - fallback.stored_at), 3)
                    stale = StaleInfo(upstream=ctype.upstream, age_s=age_s)
                    outcomes[index] = _Outcome(fallback.value, fallback.fresh_until, stale)
                else:
                    outcomes[index] = fetched_outcome
        return [outcomes[index] for index in range(len(keys))]

    async def _fetch_and_store(
        self, ctype: CacheType[K, V], keys: list[K], cache_keys: list[str], fetch: Fetch[K]
    ) -> list[_Outcome]:
        outcomes: dict[int, _Outcome] = {}
        todo = list(range(len(keys)))
        locked: list[str] = []
        if self.policy.lock.enabled:
            locked, todo = await self._lock_or_wait(ctype, cache_keys, todo, outcomes)
        try:
            if todo:
                started = self.clock()
                fetched = await fetch([keys[i] for i in todo])
                answers = [(keys[i], cache_keys[i], result) for i, result in zip(todo, fetched, strict=True)]
                fresh_until = await self._write(ctype, answers, since=started)
                for i, (_key, _cache_key, result), until in zip(todo, answers, fresh_until, strict=True):
                    outcomes[i] = _Outcome(result, until)
        finally:
            if locked:
                await self._quietly(self.store.unlock(locked), ctype)
        return [outcomes[index] for index in range(len(keys))]

    async def _lock_or_wait(
        self, ctype: CacheType[K, V], cache_keys: list[str], todo: list[int], outcomes: dict[int, _Outcome]
    ) -> tuple[list[str], list[int]]:
        """Take the lock of each key; for keys another replica holds, wait briefly for its answer
        to appear in the store, then fetch whatever is still missing."""
        policy = self.policy.lock
        try:
            held = await self.store.try_lock(cache_keys, policy.ttl_s)
        except CacheUnavailable:
            self.stats[ctype.name].count_error()
            return [], todo
        waiting = [i for i in todo if cache_keys[i] not in held]
        deadline = time.monotonic() + policy.wait_s
        while waiting and time.monotonic() < deadline:
            await asyncio.sleep(policy.poll_s)
            stored = await self._read(ctype, [cache_keys[i] for i in waiting], self.stats[ctype.name])
            now = self.clock()
            for index, entry in zip(list(waiting), stored, strict=True):
                if entry is not None and entry.is_fresh(now):
                    outcomes[index] = _Outcome(entry.value, entry.fresh_until)
                    waiting.remove(index)
        return [k for k in cache_keys if k in held], [i for i in todo if cache_keys[i] in held or i in waiting]

    def _revalidate(self, ctype: CacheType[K, V], keys: list[K], cache_keys: list[str], fetch: Fetch[K]) -> None:
        chosen = [i for i, key in enumerate(cache_keys) if key not in self._refreshing]
        if not chosen:
            return
        refresh_keys = [cache_keys[i] for i in chosen]
        self._refreshing.update(refresh_keys)

        async def refresh() -> None:
            try:
                await self._fetch_and_store(ctype, [keys[i] for i in chosen], refresh_keys, fetch)
            finally:
                self._refreshing.difference_update(refresh_keys)

        self._spawn(refresh())

    def _spawn(self, work: Awaitable[None]) -> None:
        task: asyncio.Task[None] = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("cache_task_failed", error_type=type(task.exception()).__name__)

    async def drain(self) -> None:
        """Wait for background refreshes and shared fetches (tests, shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def put_many(self, ctype: CacheType[K, V], items: Sequence[tuple[K, V]], *, since: float) -> None:
        """Write values fetched as part of another answer (users of a members page), whose fetch
        started no earlier than ``since``."""
        scope = self.scopes.get(ctype.upstream, "")
        cache_keys = ctype.keys([key for key, _value in items], scope)
        answers = [(key, cache_key, value) for (key, value), cache_key in zip(items, cache_keys, strict=True)]
        await self._write(ctype, answers, since=since)

    async def _write(
        self, ctype: CacheType[K, V], answers: Iterable[tuple[K, str, Result]], *, since: float
    ) -> list[float]:
        """Store the answers that are not errors, unless an invalidation overlapped their fetch
        (begun at ``since``, cache clock) on any replica; return when each stops being fresh (0 for
        an error). A fetch longer than the fences last is not stored either: a fence may have expired."""
        now = self.clock()
        fenced_since = since - self.policy.clock_skew_s
        storable = now - fenced_since < self.policy.fence_s
        writes = []
        local = []
        fresh_until = []
        for key, cache_key, result in answers:
            if isinstance(result, BaseException):
                fresh_until.append(0.0)
                continue
            entry = self._entry(ctype, result, now)
            fresh_until.append(entry.fresh_until)
            if not storable:
                continue
            data = encode(entry, ctype.codec)
            tags = ctype.tags(key, result) if result is not None else ()
            links = ctype.links(key, result) if result is not None else ()
            local.append((cache_key, entry, len(data), tags))
            ttl_s = entry.error_until - now + _SAFETY_MARGIN_S
            writes.append(StoreWrite(key=cache_key, data=data, ttl_s=ttl_s, tags=tags, links=links, since=fenced_since))
        if writes:
            try:
                refused = await self.store.set_many(writes)
            except CacheUnavailable:
                self.stats[ctype.name].count_error()
                refused = set()
            self.stats[ctype.name].fenced += len(refused)
            if self.l1 is not None:
                for cache_key, entry, size, tags in local:
                    if cache_key not in refused:
                        self.l1.put(cache_key, entry, size, tags, now)
        return fresh_until

    def _entry(self, ctype: CacheType[K, V], value: V | None, now: float) -> Entry[V]:
        policy = self.policy
        if value is None:
            until = now + policy.negative_ttl_s
            return Entry(
                value=None, negative=True, stored_at=now, fresh_until=until, stale_until=until, error_until=until
            )
        ttl_s = policy.ttl_s[ctype.name] * (1 - policy.jitter_ratio * self.jitter())
        fresh_until = now + ttl_s
        return Entry(
            value=value,
            negative=False,
            stored_at=now,
            fresh_until=fresh_until,
            stale_until=fresh_until + policy.stale_while_revalidate_s,
            error_until=fresh_until + policy.stale_if_error_s,
        )

    def _remember(self, ctype: CacheType[K, V], key: K, cache_key: str, entry: Entry[V], now: float) -> None:
        if self.l1 is None:
            return
        tags = ctype.tags(key, entry.value) if entry.value is not None else ()
        self.l1.put(cache_key, entry, entry.size, tags, now)  # type: ignore[arg-type]  # L1 holds entries of any type

    async def _read(self, ctype: CacheType[K, V], cache_keys: list[str], stats: TypeStats) -> list[Entry[V] | None]:
        with span("cache read") as current:
            try:
                raw = await self.store.get_many(cache_keys)
            except CacheUnavailable:
                stats.count_error()
                if current is not None:
                    current.set_attributes({"mobius.cache.type": ctype.name, "error.type": "CACHE_UNAVAILABLE"})
                return [None for _ in cache_keys]
            if current is not None:
                found = sum(data is not None for data in raw)
                current.set_attributes(
                    {"mobius.cache.type": ctype.name, "mobius.cache.keys": len(raw), "mobius.cache.found": found}
                )
            return [None if data is None else decode(data, ctype.codec) for data in raw]

    async def _quietly(self, call: Awaitable[object], ctype: CacheType[Any, Any]) -> None:
        try:
            await call
        except CacheUnavailable:
            self.stats[ctype.name].count_error()


def _record(provenance: Provenance, ctype: CacheType[K, V], key: K, outcome: _Outcome) -> None:
    if isinstance(outcome.result, BaseException) or outcome.stale is not None:
        provenance.spoil()
    else:
        provenance.record(ctype.answer_tags(key, outcome.result), outcome.fresh_until)
