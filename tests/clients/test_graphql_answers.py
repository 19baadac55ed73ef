"""What a GraphQL upstream's answer becomes when its optional parts are not what the spec says."""

from __future__ import annotations

from collections.abc import AsyncIterator

import orjson
import pytest
from aiohttp import web
from graphql import parse

from clients.auth import NoAuth
from clients.graphql import GraphQLUpstream
from clients.http import HttpUpstream
from clients.policy import UpstreamPolicy

ANSWER = orjson.dumps({"data": {"x": 1}, "extensions": "none"})


@pytest.fixture
async def text_extensions() -> AsyncIterator[str]:
    """An upstream whose every answer carries data and ``extensions`` that are a string."""

    async def answer(_request: web.Request) -> web.Response:
        return web.Response(body=ANSWER, content_type="application/json")

    app = web.Application()
    app.router.add_post("/graphql", answer)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


async def test_extensions_that_are_not_an_object_are_left_out_of_the_result(
    text_extensions: str,
) -> None:
    http = HttpUpstream(UpstreamPolicy(name="projects", base_url=text_extensions), NoAuth())
    graphql = GraphQLUpstream(http)
    await graphql.start()
    try:
        result = await graphql.execute(parse("{ x }"))
    finally:
        await graphql.close()

    assert result.data == {"x": 1}
    assert result.errors == []
    assert result.extensions is None
