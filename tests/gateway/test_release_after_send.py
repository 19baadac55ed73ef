"""A request's loaded values are freed once its response is sent: freeing them (the upstream
answers, their futures) is not on the path between the last upstream answer and the response."""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

import orjson
import pytest
from canary import CANARY_CALLER_TOKEN
from harness import DASHBOARD_QUERY, Sandbox, gateway_settings

from bench.profile_dashboard import graphql_post_scope
from mobius.app import create_app
from sandbox import SandboxCredentials, SandboxUrls
from schema.context import GatewayContext

Message = MutableMapping[str, Any]
BODY = orjson.dumps({"query": DASHBOARD_QUERY, "variables": {"orgId": "org-1"}})


async def _receive() -> Message:
    return {"type": "http.request", "body": BODY, "more_body": False}


@pytest.fixture
def events(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """``released`` each time a request's context lets go of what it loaded."""
    seen: list[str] = []
    release = GatewayContext.release

    def recorded(context: GatewayContext) -> None:
        seen.append("released")
        release(context)

    monkeypatch.setattr(GatewayContext, "release", recorded)
    return seen


async def test_a_dashboards_values_are_released_after_its_body_is_sent(
    sandbox_server: tuple[SandboxUrls, SandboxCredentials], sandbox: Sandbox, events: list[str]
) -> None:
    app = create_app(gateway_settings(sandbox_server))
    bodies: list[bytes] = []

    async def send(message: Message) -> None:
        events.append(message["type"])
        bodies.append(message.get("body", b""))

    async with app.router.lifespan_context(app):
        await app(graphql_post_scope(BODY, CANARY_CALLER_TOKEN), _receive, send)
    assert events == ["http.response.start", "http.response.body", "released"]
    answer = orjson.loads(b"".join(bodies))
    assert "errors" not in answer
    assert len(answer["data"]["organization"]["projects"]["nodes"]) > 0


async def test_the_values_are_released_when_the_body_cannot_be_sent(
    sandbox_server: tuple[SandboxUrls, SandboxCredentials], sandbox: Sandbox, events: list[str]
) -> None:
    app = create_app(gateway_settings(sandbox_server))

    async def send(message: Message) -> None:
        events.append(message["type"])
        if events.count("http.response.body") == 1 and message["type"] == "http.response.body":
            raise ConnectionResetError("the client went away")

    async with app.router.lifespan_context(app):
        await app(graphql_post_scope(BODY, CANARY_CALLER_TOKEN), _receive, send)
    assert events[:3] == ["http.response.start", "http.response.body", "released"]
    assert "released" not in events[3:]  # the endpoint's own failure answer (500) follows, nothing loaded again
