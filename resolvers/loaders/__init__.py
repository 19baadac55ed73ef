"""Per-request loaders: one generic ``ReadLoader`` per declared read (``clients.declaration``),
created on a request's first use of that read and kept on its context.

A batch honours the DataLoader contract (one answer per key, in key order; ``None`` for not
found; an exception instance for a key that failed, so one bad key does not fail its batch
neighbours) and goes through the cache when there is one: cached keys are answered from it, only
the misses reach the upstream (one batch). What a read declares is applied here for every read:
values prime the sibling reads they carry, answers of other reads that came in the same request
are primed (and cached), and the keys a value is handed out with are loaded first.

A request can also ask to hear of an answer before it is handed out (``Loaders.then``): what the
query will read next from it (the users a projects page names) is then loaded, and goes upstream,
before any field waiting for that answer resumes (``schema.selection``, ``read_from``).
"""

from __future__ import annotations

import asyncio
import logging
from asyncio import Future
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from aiodataloader import DataLoader
from mypy_extensions import mypyc_attr

from clients.declaration import Answer, Fetched, Read
from clients.instruments import batch_size
from clients.policy import UpstreamPolicy
from clients.registry import registry
from clients.spans import span
from clients.upstreams import Upstreams
from resolvers.cache import CacheType, RequestCache
from resolvers.cache.types import key_part

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

log = logging.getLogger("mobius.loaders")


def cache_type(read: Read[Any, K, V], *, upstream: str, vendor: str | None = None) -> CacheType[K, V]:
    """The cache type of ``read`` as served by ``vendor`` (``None``: the vendor named like the upstream)."""
    parts = read.key_parts
    return CacheType(
        name=read.name,
        upstream=upstream,
        codec=read.codec,
        key_id=lambda key: ":".join([key_part(part) for part in parts(key)]),
        entity=read.entity,
        tags=read.tags,
        links=read.links,
        vendor=vendor,
    )


def declared_cache_types() -> tuple[CacheType[Any, Any], ...]:
    """Every declared read's cache type, as the upstreams' default vendors serve them."""
    return tuple(
        cache_type(read, upstream=upstream.name) for upstream in registry().upstreams for read in upstream.reads
    )


@mypyc_attr(native_class=False)  # compiled, a generic dataclass must stay a Python class (mypyc/mypyc#827)
@dataclass(frozen=True, slots=True)
class Source(Generic[K, V]):
    """A read as this gateway serves it: the client that answers it, its policy and cache type."""

    read: Read[Any, K, V]
    client: Any
    policy: UpstreamPolicy
    ctype: CacheType[K, V]

    @property
    def max_batch_size(self) -> int | None:
        return None if self.read.batch == "fan_out" else self.policy.max_batch_size


class Reads:
    """Every read of the configured upstreams with its source; built once per gateway."""

    def __init__(self, upstreams: Upstreams) -> None:
        self.upstreams = upstreams
        self._sources: dict[Read[Any, Any, Any], Source[Any, Any]] = {}
        self._primed_by: dict[Read[Any, Any, Any], tuple[Read[Any, Any, Any], ...]] = {}
        """By read: the reads whose values prime it (the members page, for users)."""
        for connected in upstreams.connected:
            name, vendor = connected.upstream.name, connected.vendor.name
            for read in connected.upstream.reads:
                client, policy = upstreams.serving(read)
                ctype = cache_type(read, upstream=name, vendor=None if vendor == name else vendor)
                self._sources[read] = Source(read, client, policy, ctype)
                for prime in read.primes:
                    self._primed_by[prime.read] = (*self._primed_by.get(prime.read, ()), read)

    @property
    def cache_types(self) -> tuple[CacheType[Any, Any], ...]:
        return tuple(source.ctype for source in self._sources.values())

    def source(self, read: Read[Any, K, V]) -> Source[K, V]:
        return self._sources[read]

    def primed_by(self, read: Read[Any, Any, Any]) -> tuple[Read[Any, Any, Any], ...]:
        """The reads whose values prime ``read``."""
        return self._primed_by.get(read, ())

    def max_batch_size(self, read: Read[Any, Any, Any]) -> int | None:
        """Keys per upstream request of ``read`` (``None``: one request per key, or not served here)."""
        source = self._sources.get(read)
        return source.max_batch_size if source is not None else None

    def loaders(self, cache: RequestCache | None = None) -> Loaders:
        """A request's loaders; ``cache`` is ``engine.request()`` of the gateway's ``CacheEngine``, or ``None``."""
        return Loaders(self, cache)


Then = Callable[[Answer], None]
"""Told a found answer before its future resolves (``Loaders.then``)."""


class Loaders:
    """A request's loaders, by read, each created on first use."""

    __slots__ = ("_built", "_released", "_then", "cache", "reads")

    def __init__(self, reads: Reads, cache: RequestCache | None = None) -> None:
        self.reads = reads
        self.cache = cache
        self._built: dict[Read[Any, Any, Any], ReadLoader[Any, Any]] = {}
        """By read: a read hashes by identity, so this is one dict probe per ``loaders[READ]``."""
        self._then: dict[asyncio.Future[Any], list[Then]] = {}
        self._released = False

    @classmethod
    def build(cls, upstreams: Upstreams, cache: RequestCache | None = None) -> Loaders:
        """Loaders over ``upstreams`` without a gateway's prepared ``Reads`` (tests, tools)."""
        return Reads(upstreams).loaders(cache)

    def __getitem__(self, read: Read[Any, K, V]) -> ReadLoader[K, V]:
        loader = self._built.get(read)
        if loader is None:
            loader = self._built[read] = ReadLoader(self.reads.source(read), self)
        return loader

    @property
    def released(self) -> bool:
        """Whether the request is answered (nothing more is loaded ahead for it)."""
        return self._released

    def release(self) -> None:
        """Forget every loaded value, once the request is answered (``schema.context``)."""
        self._released = True
        for loader in self._built.values():
            loader.forget()
        self._built.clear()
        self._then.clear()

    def then(self, future: asyncio.Future[Any], told: Then) -> None:
        """``told(answer)`` when the batch answering ``future`` (a loader's) has a found answer for
        it, before the future resolves: what ``told`` loads goes upstream before anything waiting
        for the answer resumes. At once if the future is done; never for a missing or failed key."""
        if future.done():
            if not future.cancelled() and future.exception() is None and future.result() is not None:
                told(future.result())
            return
        self._then.setdefault(future, []).append(told)

    def load_ahead(self, read: Read[Any, K, Any], keys: Iterable[K]) -> None:
        """Load ``keys`` of ``read`` for fields that will ask for them, once the batches of this
        request that prime ``read`` (a members page, for users) are answered, so that a key they
        bring is not asked for again. Nothing after the request is answered."""
        if self._released:
            return
        waiting = [
            future
            for primer in self.reads.primed_by(read)
            if (loader := self._built.get(primer)) is not None
            for future in loader.unsettled()
        ]
        if not waiting:
            self._load(read, keys)
            return
        wanted = list(keys)
        when_done(waiting, lambda: self._load(read, wanted))

    def _load(self, read: Read[Any, K, Any], keys: Iterable[K]) -> None:
        if not self._released:
            target = self[read]
            for key in keys:
                target.load(key)

    def _told(self, futures: Sequence[asyncio.Future[Any]], answers: Sequence[Answer]) -> None:
        """Tell ``then`` of a batch's answers, then dispatch what that loaded at once: the keys it
        queued are all there (the callbacks are synchronous), and their requests leave before the
        fields waiting for these answers are completed, not two loop turns later, behind the
        completion of whatever else was answered meanwhile. A ``then`` that fails is logged and
        costs nothing but its reads ahead: the fields read as they would without it."""
        then = self._then
        told = False
        for future, answer in zip(futures, answers, strict=True):
            waiting = then.pop(future, None)
            if waiting is not None and _found(answer):
                for each in waiting:
                    try:
                        each(answer)
                    except Exception:
                        log.exception("reading ahead from an answer failed")
                told = True
        if told:
            for loader in list(self._built.values()):
                if loader.queued():
                    loader._dispatch()


def _found(answer: Answer) -> bool:
    return answer is not None and not isinstance(answer, BaseException)


class _Countdown:
    """The done callback of each future ``when_done`` waits for: ``callback`` once the last is done."""

    __slots__ = ("callback", "remaining")

    def __init__(self, remaining: int, callback: Callable[[], None]) -> None:
        self.remaining = remaining
        self.callback = callback

    def __call__(self, future: asyncio.Future[Any]) -> None:
        if not future.cancelled():
            future.exception()  # retrieved: a failure is for whoever awaits it, not logged as lost
        self.remaining -= 1
        if self.remaining == 0:
            self.callback()


def when_done(futures: Sequence[asyncio.Future[Any]], callback: Callable[[], None]) -> None:
    """``callback()`` once every one of ``futures`` is done, whether with a result, an exception
    or cancelled (at once if none is pending); what ``asyncio.gather(*futures,
    return_exceptions=True)`` with a done callback does, without its future and list of results."""
    pending = []
    for future in futures:
        if not future.done():
            pending.append(future)
        elif not future.cancelled():
            future.exception()
    if not pending:
        callback()
        return
    countdown = _Countdown(len(pending), callback)
    for future in pending:
        future.add_done_callback(countdown)


def _resolve(waiter: asyncio.Future[None]) -> None:
    """``waiter`` resolved, unless it is done already (cancelled with the task awaiting it)."""
    if not waiter.done():
        waiter.set_result(None)


class ReadLoader(DataLoader[K, V | None], Generic[K, V]):
    """The loader of one read for one request (``<Entity>By<Key>`` of the read's declaration).

    ``load`` and ``prime`` are aiodataloader's without what our keys never need (a cache-key
    function, the switches for caching and batching): one dict probe for a key loaded before.
    The batch is dispatched as aiodataloader dispatches it, two loop turns after its first key
    (so keys loaded in those turns join it), and settled as it settles one: an answer per key in
    key order, an ``Exception`` answer fails its key alone, a failed batch fails (and forgets)
    every key of it.

    Its futures are made as ``Future()`` (of the running loop, the loop it is built in), not with
    ``loop.create_future()``: uvloop's passes the loop as a keyword, whose dict costs more than
    the rest of making the future.
    """

    def __init__(self, source: Source[K, V], loaders: Loaders) -> None:
        # What the base's own methods (``load_many``, ``clear``, ``clear_all``) read, set without its
        # ``__init__``, which would check the batch function with ``inspect`` for every loader built.
        memo: dict[K, asyncio.Future[V | None]] = {}
        self.loop = asyncio.get_running_loop()
        self.max_batch_size = source.max_batch_size
        self._cache = memo  # type: ignore[assignment]  # the base types its keys with a type variable of its own
        self._queue = []
        self._memo = memo
        """The base's ``_cache``, typed as the dict it is (compiled, its probes are direct dict calls)."""
        self.source = source
        self.loaders = loaders
        self._ctype = source.ctype
        self._primes = source.read.primes
        self._follows = source.read.follows
        """The source's, read once per loader: ``_answered_from_l1`` runs per key loaded."""
        self._keys: list[K] = []
        self._futures: list[asyncio.Future[V | None]] = []
        self._batches = 0
        """Dispatches so far: a scheduled dispatch that finds the count moved on has nothing to do."""

    def get_cache_key(self, key: K) -> K:
        """A key is its own cache key (the base's ``clear`` asks)."""
        return key

    def load(self, key: K) -> asyncio.Future[V | None]:
        memo = self._memo
        future = memo.get(key)
        if future is None:
            if key is None:
                raise TypeError("The loader.load() function must be called with a value, but got: None.")
            future = memo[key] = Future()
            cache = self.loaders.cache
            if cache is not None and self._answered_from_l1(cache, key, future):
                return future
            keys = self._keys
            keys.append(key)
            self._futures.append(future)
            if len(keys) == 1:
                loop = self.loop
                loop.call_soon(loop.call_soon, self._dispatch_batch, self._batches)
        return future

    def _answered_from_l1(self, cache: RequestCache, key: K, future: asyncio.Future[V | None]) -> bool:
        """Whether ``future`` is resolved at once, ``key`` being fresh in the cache's first level:
        primed and followed as a batch's found answer is, counted and recorded as ``load_many``
        counts an L1 hit. A key whose follows are not all answered at once takes the batch path."""
        ctype = self._ctype
        entry = cache.fresh_in_l1(ctype, key)
        if entry is None:
            return False
        value = entry.value
        if value is not None:
            self._prime_from(value)
            at_hand = True
            for follow in self._follows:
                followed = self.loaders[follow.read]
                for follow_key in follow.keys(key, value):
                    if not followed.load(follow_key).done():
                        at_hand = False  # every follow is loaded all the same: the misses go in one batch
            if not at_hand:
                return False
        cache.served_from_l1(ctype, key, entry)
        future.set_result(value)
        return True

    def prime(self, key: K, value: V | None) -> ReadLoader[K, V]:
        memo = self._memo
        if key not in memo:
            future = memo[key] = Future()
            if isinstance(value, Exception):
                future.set_exception(value)
            else:
                future.set_result(value)
        return self

    def _prime_found(self, key: K, value: V) -> None:
        """``prime`` of a found value (one a value carries): never an exception to fail its key with."""
        memo = self._memo
        if key not in memo:
            future = memo[key] = Future()
            future.set_result(value)

    def forget(self) -> None:
        """The base's ``clear_all`` without its call through the base: every loaded value dropped."""
        self._memo.clear()

    def queued(self) -> bool:
        """Whether keys wait for the next dispatch."""
        return bool(self._keys)

    def unsettled(self) -> list[asyncio.Future[V | None]]:
        """The futures of keys loaded and not answered yet."""
        return [future for future in self._memo.values() if not future.done()]

    def _dispatch_batch(self, batch: int) -> None:
        """``_dispatch``, two loop turns after the first key of dispatch number ``batch`` was
        queued, unless those keys were dispatched early (``Loaders._told``)."""
        if batch == self._batches:
            self._dispatch()

    def _dispatch(self) -> None:
        """The keys queued since the first one, in batches of at most ``max_batch_size``."""
        keys, futures = self._keys, self._futures
        self._keys, self._futures = [], []
        self._batches += 1
        size = self.max_batch_size
        if size and size < len(keys):
            for start in range(0, len(keys), size):
                self.loop.create_task(self._settle(keys[start : start + size], futures[start : start + size]))
        else:
            self.loop.create_task(self._settle(keys, futures))

    async def _settle(self, keys: list[K], futures: list[asyncio.Future[V | None]]) -> None:
        try:
            answers = await self.batch_load_fn(keys)
            if len(answers) != len(keys):
                raise TypeError(f"{len(answers)} answers to a batch of {len(keys)} keys in {self.source.read!r}")
        except Exception as error:  # the batch failed: each of its keys fails with it
            for key, future in zip(keys, futures, strict=True):
                self._memo.pop(key, None)
                self.loaders._then.pop(future, None)
                if not future.done():
                    future.set_exception(error)
            return
        if self.loaders._then:
            self.loaders._told(futures, answers)
        for future, answer in zip(futures, answers, strict=True):
            if not future.done():
                if isinstance(answer, Exception):
                    future.set_exception(answer)
                else:
                    future.set_result(answer)

    async def batch_load_fn(self, keys: Sequence[K]) -> list[Answer]:
        """One batch: measured (its size) and traced (a span holding its cache read and upstream calls)."""
        source = self.source
        batch_size(source.ctype.upstream, source.read.name, len(keys))
        with span(f"loader {source.read.name}") as current:
            if current is not None:
                current.set_attributes(
                    {
                        "mobius.upstream": source.ctype.upstream,
                        "mobius.read": source.read.name,
                        "mobius.keys": len(keys),
                    }
                )
            return await self._answer(keys)

    async def _answer(self, keys: Sequence[K]) -> list[Answer]:
        cache = self.loaders.cache
        answers = (
            list(await self._fetch(keys)) if cache is None else await cache.load(self.source.ctype, keys, self._fetch)
        )
        if self._primes:
            for answer in answers:
                if _found(answer):
                    self._prime_from(answer)
        if self._follows:
            await self._follow(keys, answers)
        return answers

    def _prime_from(self, value: Any) -> None:
        """What a found value brings of the reads it primes (a members page's users), primed in
        their loaders."""
        loaders = self.loaders
        for prime in self._primes:
            target = loaders[prime.read]
            for key, primed in prime.items(value):
                target._prime_found(key, primed)

    def prime_answer(self, key: K, answer: Answer) -> None:
        """An answer that came with another read's request, as if this loader had fetched it. A
        failed one primes a failed future, marked retrieved so that one nobody asks for is not
        logged as a lost exception."""
        self.prime(key, answer)
        if isinstance(answer, BaseException):
            self.load(key).exception()

    async def _fetch(self, keys: Sequence[K]) -> Sequence[Answer]:
        source = self.source
        fetched: Fetched[K] = await source.read.fetch(source.client, keys, source.policy)
        for read, key, answer in fetched.also:
            self.loaders[read].prime_answer(key, answer)
        cache = self.loaders.cache
        if cache is not None:
            await self._refresh_siblings(cache, fetched)
        return fetched.answers

    async def _refresh_siblings(self, cache: RequestCache, fetched: Fetched[K]) -> None:
        """Values of other reads fetched with this batch are written to their cache entries too."""
        reads = self.loaders.reads
        for prime in self._primes:
            items = [item for answer in fetched.answers if _found(answer) for item in prime.items(answer)]
            if items:
                await cache.put(reads.source(prime.read).ctype, items)
        grouped: dict[int, tuple[Read[Any, Any, Any], list[tuple[Any, Any]]]] = {}
        for read, key, answer in fetched.also:
            if _found(answer):
                grouped.setdefault(id(read), (read, []))[1].append((key, answer))
        for read, items in grouped.values():
            await cache.put(reads.source(read).ctype, items)

    async def _follow(self, keys: Sequence[K], answers: Sequence[Answer]) -> None:
        """The keys each value is handed out with are in their loaders before it resolves: those
        that came with this batch are primed already, the rest (a value served from the cache) are
        loaded now, in one batch. Their errors stay in their futures, for their fields to report."""
        pending = [
            future
            for key, answer in zip(keys, answers, strict=True)
            if _found(answer)
            for follow in self._follows
            for follow_key in follow.keys(key, answer)
            if not (future := self.loaders[follow.read].load(follow_key)).done()
        ]
        if pending:
            followed: Future[None] = Future()
            when_done(pending, lambda: _resolve(followed))
            await followed
