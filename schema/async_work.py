"""What resolvers reach as ``info.async_helpers``, without a reference back to the executor.

graphql-core builds these helpers from two of the executor's own bound methods and keeps them on
the executor (and in every resolve info's request-wide tail): a reference cycle per execution. The
executor, and all it holds (the response's objects, its memos, some 250 objects per dashboard),
then outlived the request until a young collection found them, and with the young threshold at
100 000 that collection came every few hundred requests and stalled one of them for 60-90 ms
(docs/execution.md, "Round 12: the stall"). These run graphql-core's own ``track_async_work``
and ``settle_in_background`` on the two things they use of the executor, its ``is_awaitable`` and
its set of background futures (shared with its copies, and awaited by its ``async_work_finished``
hook), so the executor is freed by reference counting when its request ends. (A weak reference
to it would not do: mypyc's deallocator of the compiled executor leaves weak references dangling.)
"""

from __future__ import annotations

from asyncio import Future
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from graphql import GraphQLResolveInfoHelpers
from graphql.execution import Executor
from graphql.pyutils import gather_with_cancel


class _AsyncWork:
    __slots__ = ("background_futures", "is_awaitable")

    def __init__(self, executor: Executor[Any]) -> None:
        self.is_awaitable: Callable[[Any], bool] = executor.is_awaitable
        self.background_futures: set[Future[Any]] = executor.background_futures

    @staticmethod
    def gather(values: Sequence[Awaitable[Any]]) -> Awaitable[list[Any]]:
        """graphql-core's ``gather_async_work``, which uses nothing of its executor."""
        return gather_with_cancel(*values)

    def track(self, values: Sequence[Any]) -> None:
        """graphql-core's ``track_async_work``."""
        Executor.track_async_work(self, values)  # type: ignore[arg-type]  # it reads only what this holds

    def settle_in_background(self, awaitables: list[Awaitable[Any]]) -> None:
        """graphql-core's, which ``track_async_work`` calls."""
        Executor.settle_in_background(self, awaitables)  # type: ignore[arg-type]  # it reads only what this holds


def async_helpers(executor: Executor[Any]) -> GraphQLResolveInfoHelpers:
    """``executor``'s async helpers, without a reference back to it."""
    work = _AsyncWork(executor)
    return GraphQLResolveInfoHelpers(gather=work.gather, track=work.track)
