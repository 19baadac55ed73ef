"""The page and its files as the gateway serves them (uvicorn, real HTTP)."""

from __future__ import annotations

import json
import re
import urllib.request
from email.message import Message

from graphiql_app import STATIC_PREFIX, LiveServer

from mobius.graphiql import GRAPHIQL_CSP, STATIC_DIR


def fetch(request: urllib.request.Request) -> tuple[int, Message, bytes]:
    assert request.full_url.startswith("http://127.0.0.1:")
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, response.headers, response.read()


def get(url: str, accept: str = "*/*") -> tuple[int, Message, bytes]:
    return fetch(urllib.request.Request(url, headers={"Accept": accept}))


def test_ide_page_is_served_with_csp(live_server: LiveServer) -> None:
    status, headers, body = get(f"{live_server.base_url}/graphql", accept="text/html")
    assert status == 200
    assert headers["content-type"].startswith("text/html")
    assert headers["content-security-policy"].startswith(GRAPHIQL_CSP)
    html = body.decode("utf-8")
    assert 'id="graphiql"' in html
    assert not re.search(r"https?://", html)


def test_every_referenced_file_is_served_byte_identical(live_server: LiveServer) -> None:
    _status, _headers, body = get(f"{live_server.base_url}/graphql", accept="text/html")
    paths = re.findall(r'(?:src|href)="([^"]+)"', body.decode("utf-8"))
    assert len(paths) >= 9
    for path in paths:
        assert path.startswith(STATIC_PREFIX + "/")
        status, _h, data = get(live_server.base_url + path)
        assert status == 200
        assert data == (STATIC_DIR / path.removeprefix(STATIC_PREFIX + "/")).read_bytes()


def test_graphql_still_answers(live_server: LiveServer) -> None:
    request = urllib.request.Request(
        f"{live_server.base_url}/graphql",
        data=json.dumps({"query": "{ hello }"}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    status, _headers, body = fetch(request)
    assert status == 200
    assert json.loads(body) == {"data": {"hello": "world"}}
