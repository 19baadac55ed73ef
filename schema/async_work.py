"""What resolvers reach as ``info.async_helpers``, holding the planned executor weakly.

graphql-core builds these helpers from two of the executor's own bound methods and keeps them on
the executor (and in every resolve info's request-wide tail): a reference cycle per execution. The
executor, and all it holds (the response's objects, its memos, some 250 objects per dashboard),
then outlived the request until a young collection found them, and with the young threshold at
100 000 that collection came every few hundred requests and stalled one of them for 60-90 ms
(docs/execution.md, "Round 12: the stall"). Built from this, the executor is freed by reference
counting when its request ends.
"""

from __future__ import annotations

import weakref
from collections.abc import Awaitable, Sequence
from typing import Any

from graphql import GraphQLResolveInfoHelpers
from graphql.execution import Executor
from graphql.pyutils import gather_with_cancel


class _AsyncWork:
    __slots__ = ("_executor",)

    def __init__(self, executor: Executor[Any]) -> None:
        self._executor = weakref.ref(executor)

    @staticmethod
    def gather(values: Sequence[Awaitable[Any]]) -> Awaitable[list[Any]]:
        """graphql-core's ``gather_async_work``, which uses nothing of its executor."""
        return gather_with_cancel(*values)

    def track(self, values: Sequence[Any]) -> None:
        """graphql-core's ``track_async_work`` of the executor, while it lives (it does as long as
        its resolvers run: their frames hold it)."""
        executor = self._executor()
        if executor is not None:
            executor.track_async_work(values)


def async_helpers(executor: Executor[Any]) -> GraphQLResolveInfoHelpers:
    """``executor``'s async helpers, without a reference back to it."""
    work = _AsyncWork(executor)
    return GraphQLResolveInfoHelpers(gather=work.gather, track=work.track)
