"""A request's loaders (``Loaders``): one ``ReadLoader`` per read, created on first use, the reads
loaded ahead for it, and the callbacks told of an answer before it is handed out (``Loaders.then``)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Hashable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from clients.declaration import Answer, Read
from clients.upstreams import Upstreams
from resolvers.cache import RequestCache
from resolvers.loaders.read_loader import ReadLoader, found
from resolvers.loaders.waiting import when_done

if TYPE_CHECKING:
    from resolvers.loaders.reads import Reads

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

log = logging.getLogger("mobius.loaders")


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
        from resolvers.loaders.reads import Reads  # noqa: PLC0415  # it makes loaders: imported when called

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
                target.answered(key)  # loaded unless at hand: a primed value needs no future

    def _told(self, futures: Sequence[asyncio.Future[Any]], answers: Sequence[Answer]) -> None:
        """Tell ``then`` of a batch's answers, then dispatch what that loaded at once: the keys it
        queued are all there (the callbacks are synchronous), and each batch takes its first step
        now (``start_eagerly``), so its request leaves before the loop runs what it had queued
        (the completion of whatever else was answered meanwhile) and before the fields waiting
        for these answers resume, not two loop turns later. A ``then`` that fails is logged and
        costs nothing but its reads ahead: the fields read as they would without it."""
        then = self._then
        told = False
        for future, answer in zip(futures, answers, strict=True):
            waiting = then.pop(future, None)
            if waiting is not None and found(answer):
                for each in waiting:
                    try:
                        each(answer)
                    except Exception:
                        log.exception("reading ahead from an answer failed")
                told = True
        if told:
            for loader in [loader for loader in self._built.values() if loader.queued()]:
                loader._dispatch(now=True)
