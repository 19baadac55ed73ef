"""The lone request's timeline: each upstream call's send and answer, as medians from the start."""

from __future__ import annotations

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer

from bench.timeline import Timeline


async def _ok(_request: web.Request) -> web.Response:
    return web.Response(text="ok")


async def test_each_call_is_marked_sent_and_answered_while_recording_only() -> None:
    app = web.Application()
    app.router.add_get("/a", _ok)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    path = f"127.0.0.1:{server.port}/a"
    timeline = Timeline()
    try:
        async with aiohttp.ClientSession() as http:
            with timeline.recording():
                for _ in range(3):
                    timeline.start()
                    for _ in range(2):
                        async with http.get(server.make_url("/a")) as response:
                            assert await response.text() == "ok"
                    timeline.end()
            timeline.start()
            async with http.get(server.make_url("/a")) as response:  # not recording: not marked
                await response.read()
    finally:
        await server.close()
    names = [line.split(" ms  ", 1)[1] for line in timeline.summary().splitlines()]
    assert names == [
        f"send GET {path} (n=3)",
        f"answer GET {path} (n=3)",
        f"send GET {path} #2 (n=3)",
        f"answer GET {path} #2 (n=3)",
        "response (n=3)",
    ]
    assert timeline.events == []
