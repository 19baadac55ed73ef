"""The executor's ``isawaitable``, remembered by type, answers as graphql-core's does."""

from __future__ import annotations

import asyncio
import types
from collections.abc import Generator
from typing import Any

from graphql.pyutils import is_awaitable as graphql_core_is_awaitable

from schema.awaitable import is_awaitable


class _Proxy:
    """Answers attribute look-ups itself: whether it is awaitable may differ per instance."""

    def __init__(self, attributes: dict[str, Any]) -> None:
        self._attributes = attributes

    def __getattr__(self, name: str) -> Any:
        try:
            return self._attributes[name]
        except KeyError:
            raise AttributeError(name) from None


def _plain_generator() -> Generator[int, None, None]:
    yield 1


@types.coroutine
def _iterable_coroutine() -> Generator[None, None, None]:
    yield


async def _coroutine() -> None:
    return None


async def test_values_answer_as_graphql_core_answers_them_on_every_ask() -> None:
    loop = asyncio.get_running_loop()
    coroutine = _coroutine()
    values: list[Any] = [
        "text",
        1,
        None,
        {"a": 1},
        [1],
        object(),
        loop.create_future(),
        coroutine,
        _plain_generator(),
        _iterable_coroutine(),
        _Proxy({}),
        _Proxy({"__await__": lambda: iter(())}),
    ]
    for _ in range(2):  # the second round answers from what the first remembered
        assert [is_awaitable(value) for value in values] == [graphql_core_is_awaitable(value) for value in values]
    await coroutine
    values[9].close()
