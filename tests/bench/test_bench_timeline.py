"""The lone request's timeline: each upstream call's send and answer, as medians from the start."""

from __future__ import annotations

import aiohttp
import pytest
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
        "end (n=3)",
    ]
    assert timeline.events == []


def test_each_requests_segments_are_summarised_from_its_own_events() -> None:
    timeline = Timeline()
    for shift in (0.0, 0.001, 0.002):
        timeline.requests.append(
            [
                ("send POST a", 0.001 + shift),
                ("send POST b", 0.0012 + shift),
                ("answer POST b", 0.020 + shift),
                ("answer POST a", 0.021 + shift),
                ("send POST c", 0.0215 + shift),
                ("answer POST c", 0.042 + shift),
                ("response start", 0.043 + shift),
                ("response body", 0.0432 + shift),
                ("end", 0.0433 + shift),
            ]
        )
    timeline.requests.append([("response start", 0.001), ("response body", 0.0011), ("end", 0.0012)])  # no sends
    rows = {
        line.split(" ms  ", 1)[1].split(" (", 1)[0]: float(line.split(" ms", 1)[0])
        for line in timeline.segments().splitlines()
    }
    assert rows == pytest.approx(
        {
            "start -> first send": 2.0,
            "gating answer -> last send": 0.5,
            "last answer -> response body": 1.2,
            "response body -> end": 0.1,
        }
    )
