"""``schema.async_work``: the resolve infos' async helpers do graphql-core's work on the executor's
own state without holding the executor."""

from __future__ import annotations

import asyncio
import gc

from graphql import Executor, build_schema, parse

from schema.async_work import async_helpers


async def _answer() -> int:
    return 1


async def test_tracked_work_settles_in_the_executors_background_set() -> None:
    executor = Executor.build(build_schema("type Query { a: Int }"), parse("{ a }"))
    assert isinstance(executor, Executor)
    helpers = async_helpers(executor)
    helpers.track([_answer(), 2])
    assert len(executor.background_futures) == 1
    await asyncio.gather(*executor.background_futures)
    await asyncio.sleep(0)
    assert not executor.background_futures
    assert await helpers.gather([_answer(), _answer()]) == [1, 1]
    assert executor not in gc.get_referents(helpers.track.__self__)
