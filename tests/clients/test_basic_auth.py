"""HTTP Basic, stepped by hand: the header, and one replay after a 401 only when a
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
    sent = OutgoingRequest("GET", "/x")

    BasicAuth(StaticSecret("agent@example.test/token"), StaticSecret("t0k3n")).apply(sent)

    assert sent.headers["Authorization"] == basic("agent@example.test/token", "t0k3n")


async def test_an_empty_password_is_sent_as_such() -> None:
    sent = OutgoingRequest("GET", "/x")

    await BasicAuth(StaticSecret("api-key"), StaticSecret("")).prepare(sent)

    assert sent.headers["Authorization"] == basic("api-key", "")


async def test_a_401_after_a_rotation_replays_once_with_the_new_password(tmp_path: Path) -> None:
    secret = tmp_path / "token"
    secret.write_text("old")
    auth = BasicAuth(StaticSecret("agent"), FileSecret(secret))
    request = OutgoingRequest("GET", "/x")
    used = auth.apply(request)
    secret.write_text("new-and-longer")

    assert await auth.refused(request, UNAUTHORIZED, used)
    assert request.headers["Authorization"] == basic("agent", "new-and-longer")


async def test_a_401_without_a_changed_credential_is_not_replayed() -> None:
    auth = BasicAuth(StaticSecret("agent"), StaticSecret("same"))
    request = OutgoingRequest("GET", "/x")
    used = auth.apply(request)

    assert not await auth.refused(request, UNAUTHORIZED, used), "replayed a request whose credentials did not change"
