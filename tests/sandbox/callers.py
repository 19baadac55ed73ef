"""How the sandbox tests call the upstreams that take HTTP Basic credentials."""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable

import aiohttp
from canary import CANARY_CREDENTIALS

Call = Callable[..., Awaitable[aiohttp.ClientResponse]]
"""`await call("GET", "/path", headers=..., json=...)`: the response, its body already read."""


def basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


SUPPORT_AUTH = basic(f"{CANARY_CREDENTIALS.support.email}/token", CANARY_CREDENTIALS.support.api_token)
LEDGER_AUTH = basic(CANARY_CREDENTIALS.ledger.api_key, "")


def caller(http: aiohttp.ClientSession, base: str, auth: dict[str, str]) -> Call:
    """Requests to `base` with `auth` unless the call passes its own `headers`."""

    async def call(
        method: str, path: str, *, headers: dict[str, str] | None = None, **options: object
    ) -> aiohttp.ClientResponse:
        response = await http.request(method, f"{base}{path}", headers=auth if headers is None else headers, **options)
        await response.read()
        return response

    return call
