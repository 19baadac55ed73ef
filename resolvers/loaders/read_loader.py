"""The loader of one read for one request (``ReadLoader``): aiodataloader's contract, batches that
go through the request's cache, and what the read declares (primes, follows) applied to its answers."""

from __future__ import annotations

import asyncio
from asyncio import Future
from collections.abc import Coroutine, Hashable, Sequence
from typing import TYPE_CHECKING, Any, Final, Generic, TypeVar

from aiodataloader import DataLoader

from clients.declaration import Answer, Fetched, Read
from clients.instruments import batch_size
from clients.spans import span
from resolvers.cache import FirstLevel, RequestCache
from resolvers.loaders.eager import start_eagerly
from resolvers.loaders.sources import Source
from resolvers.loaders.waiting import resolve, when_done

if TYPE_CHECKING:
    from resolvers.loaders.request import Loaders

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


UNANSWERED: Final[Any] = object()
"""What ``ReadLoader.answered`` answers for a key whose answer is not at hand (pending or failed)."""


def found(answer: Answer) -> bool:
    return answer is not None and not isinstance(answer, BaseException)


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
    the rest of making the future. A key answered before anyone waits for it (primed, or found in
    the cache's first level by ``answered``) is kept as its value; its future is made, already
    resolved, when it is loaded (``answered`` reads the value without one).
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
        self._values: dict[K, V | None] = {}
        """Keys answered without a future (primed, or from the L1 by ``answered``): their values."""
        self.source = source
        self.loaders = loaders
        self._primes = source.read.primes
        self._follows = source.read.follows
        """The source's, read once per loader: ``_answered_from_l1`` runs per key loaded."""
        cache = loaders.cache
        self._l1: FirstLevel | None = None if cache is None else cache.first_level(source.ctype)
        """The read's entries in the cache's first level, where the request has one."""
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
            values = self._values
            value = values.get(key, UNANSWERED) if values else UNANSWERED
            if value is UNANSWERED:
                l1 = self._l1
                if l1 is not None:
                    value = self._answered_from_l1(l1, key)
            if value is UNANSWERED:
                self._enqueue(key, future)
            else:
                future.set_result(value)
        return future

    def answered(self, key: K) -> Any:
        """The answer for ``key`` where it is at hand (``None`` for a key not found), without a
        future where none was made: a primed value, a done future's result, or a value fresh in the
        cache's first level (kept). Else ``UNANSWERED``: pending or failed, the key loaded as
        ``load`` loads it (a resolver awaiting it gets the same future)."""
        value = self._values.get(key, UNANSWERED)
        if value is not UNANSWERED:
            return value
        future = self._memo.get(key)
        if future is None:
            if key is None:
                raise TypeError("The loader.load() function must be called with a value, but got: None.")
            l1 = self._l1
            if l1 is not None:
                value = self._answered_from_l1(l1, key)
                if value is not UNANSWERED:
                    self._values[key] = value
                    return value
            future = self._memo[key] = Future()
            self._enqueue(key, future)
            return UNANSWERED
        if future.done() and not future.cancelled() and future.exception() is None:
            return future.result()
        return UNANSWERED

    def _enqueue(self, key: K, future: asyncio.Future[V | None]) -> None:
        """``key`` waits for the next dispatch, two loop turns after the first key queued for it."""
        keys = self._keys
        keys.append(key)
        self._futures.append(future)
        if len(keys) == 1:
            loop = self.loop
            loop.call_soon(loop.call_soon, self._dispatch_batch, self._batches)

    def _answered_from_l1(self, l1: FirstLevel, key: K) -> Any:
        """The value of ``key`` where it is fresh in the cache's first level, primed and followed
        as a batch's found answer is, counted and recorded as ``load_many`` counts an L1 hit; else
        ``UNANSWERED``. A key whose follows are not all answered at once takes the batch path."""
        entry = l1.fresh(key)
        if entry is None:
            return UNANSWERED
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
                return UNANSWERED
        l1.served(key, entry)
        return value

    def prime(self, key: K, value: V | None) -> ReadLoader[K, V]:
        memo, values = self._memo, self._values
        if key not in memo and key not in values:
            if isinstance(value, Exception):
                future = memo[key] = Future()
                future.set_exception(value)
            else:
                values[key] = value
        return self

    def _prime_found(self, key: K, value: V) -> None:
        """``prime`` of a found value (one a value carries): never an exception to fail its key with."""
        if key not in self._memo:
            self._values.setdefault(key, value)

    def clear(self, key: K) -> ReadLoader[K, V]:
        """The base's ``clear``: ``key`` forgotten, loaded again when asked for."""
        self._memo.pop(key, None)
        self._values.pop(key, None)
        return self

    def clear_all(self) -> ReadLoader[K, V]:
        """The base's ``clear_all``: every key forgotten."""
        self.forget()
        return self

    def forget(self) -> None:
        """The base's ``clear_all`` without its call through the base: every loaded value dropped."""
        self._memo.clear()
        self._values.clear()

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

    def _dispatch(self, *, now: bool = False) -> None:
        """The keys queued since the first one, in batches of at most ``max_batch_size``; ``now``:
        each batch takes its first step (to its send) before this returns (``start_eagerly``), else
        when the loop reaches its task."""
        keys, futures = self._keys, self._futures
        self._keys, self._futures = [], []
        self._batches += 1
        size = self.max_batch_size
        if size and size < len(keys):
            for start in range(0, len(keys), size):
                self._start(self._settle(keys[start : start + size], futures[start : start + size]), now=now)
        else:
            self._start(self._settle(keys, futures), now=now)

    def _start(self, batch: Coroutine[Any, Any, None], *, now: bool) -> None:
        if now:
            start_eagerly(batch, self.loop)
        else:
            self.loop.create_task(batch)

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
                if found(answer):
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
            items = [item for answer in fetched.answers if found(answer) for item in prime.items(answer)]
            if items:
                await cache.put(reads.source(prime.read).ctype, items)
        grouped: dict[int, tuple[Read[Any, Any, Any], list[tuple[Any, Any]]]] = {}
        for read, key, answer in fetched.also:
            if found(answer):
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
            if found(answer)
            for follow in self._follows
            for follow_key in follow.keys(key, answer)
            if not (future := self.loaders[follow.read].load(follow_key)).done()
        ]
        if pending:
            followed: Future[None] = Future()
            when_done(pending, lambda: resolve(followed))
            await followed
