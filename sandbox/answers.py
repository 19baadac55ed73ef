"""Encoded answers kept by request until the upstream's data changes: what a read costs the
sandbox when a client asks it again.

A read's answer depends only on its request (the path with its query string, or a GraphQL body)
and the upstream's data, and clients ask the same few over and over (a gateway's dashboard makes
the same calls every time). Building and encoding such an answer again is the stand-in's own cost,
not the gateway's, and it competes with the gateway for the cores in every benchmark; a kept
answer is a dict lookup. Authentication, counting and faults still run for every request: only
the handler's work is skipped.

An upstream declares it per route (`add_get(path, answers.remembered(handler))`) and calls
`answers.forget()` whenever its data changes (a mutation, a reset).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

from aiohttp import web
from multidict import CIMultiDict, CIMultiDictProxy

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

ANSWERS_KEPT = 256
"""Answers kept per upstream (the requests a client sends repeat); started afresh when full."""

RestHandler = Callable[[web.Request], Awaitable[web.Response]]


class KeptAnswers(Generic[K, V]):
    """Answers by request key, forgotten all at once when the data they came from changes."""

    __slots__ = ("_kept",)

    def __init__(self) -> None:
        self._kept: dict[K, V] = {}

    def get(self, key: K) -> V | None:
        return self._kept.get(key)

    def keep(self, key: K, answer: V) -> None:
        if len(self._kept) >= ANSWERS_KEPT:
            self._kept.clear()
        self._kept[key] = answer

    def forget(self) -> None:
        self._kept.clear()


_Encoded = tuple[bytes, CIMultiDictProxy[str]]
"""A 200 answer's body and headers (its Content-Type, an ETag)."""


class RestAnswers(KeptAnswers[str, _Encoded]):
    """A REST upstream's kept 200 answers, by the request's path and query string as sent."""

    __slots__ = ()

    def remembered(self, handler: RestHandler) -> RestHandler:
        """``handler`` answering a repeated request with the bytes and headers it gave the first time."""

        async def answer(request: web.Request) -> web.Response:
            key = request.raw_path
            known = self.get(key)
            if known is None:
                response = await handler(request)
                body = response.body
                if response.status != 200 or not isinstance(body, bytes):
                    return response
                known = body, CIMultiDictProxy(CIMultiDict(response.headers))
                self.keep(key, known)
            return web.Response(body=known[0], headers=known[1])

        return answer
