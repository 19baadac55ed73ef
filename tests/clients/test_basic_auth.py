"""HTTP Basic as an auth flow, stepped by hand: the header, and one replay after a 401 only when a
credential source changed (the file a rotation rewrote)."""

from __future__ import annotations

import base64
from pathlib import Path

from clients.auth import BasicAuth
from clients.messages import OutgoingRequest, RawResponse
from clients.secrets import FileSecret, StaticSecret

UNAUTHORIZED = RawResponse(status=401, headers={}, body=b"")


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


async def test_the_request_carries_the_user_and_password_as_basic_credentials() -> None:
    flow = BasicAuth(StaticSecret("agent@example.test/token"), StaticSecret("t0k3n")).flow(OutgoingRequest("GET", "/x"))

    sent = await anext(flow)

    assert sent.headers["Authorization"] == basic("agent@example.test/token", "t0k3n")


async def test_an_empty_password_is_sent_as_such() -> None:
    flow = BasicAuth(StaticSecret("api-key"), StaticSecret("")).flow(OutgoingRequest("GET", "/x"))

    assert (await anext(flow)).headers["Authorization"] == basic("api-key", "")


async def test_a_401_after_a_rotation_replays_once_with_the_new_password(tmp_path: Path) -> None:
    secret = tmp_path / "token"
    secret.write_text("old")
    flow = BasicAuth(StaticSecret("agent"), FileSecret(secret)).flow(OutgoingRequest("GET", "/x"))
    await anext(flow)
    secret.write_text("new-and-longer")

    replayed = await flow.asend(UNAUTHORIZED)

    assert replayed.headers["Authorization"] == basic("agent", "new-and-longer")


async def test_a_401_without_a_changed_credential_is_not_replayed() -> None:
    flow = BasicAuth(StaticSecret("agent"), StaticSecret("same")).flow(OutgoingRequest("GET", "/x"))
    await anext(flow)

    try:
        await flow.asend(UNAUTHORIZED)
    except StopAsyncIteration:
        return
    raise AssertionError("replayed a request whose credentials did not change")
