"""Talking to ``/graphql`` as any HTTP client would: raw methods, headers and bodies, and the
reply's status, headers and body as sent."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import aiohttp
import orjson
from harness import GatewayServer, gateway_settings

from mobius.settings import Settings
from sandbox import SandboxCredentials, SandboxUrls

SandboxServerInfo = tuple[SandboxUrls, SandboxCredentials]
GRAPHQL_RESPONSE = "application/graphql-response+json"
JSON = "application/json"
BOTH = [GRAPHQL_RESPONSE, JSON]


@dataclass(frozen=True)
class Reply:
    status: int
    headers: dict[str, str]
    """Lower-case names."""
    body: bytes

    @property
    def json(self) -> Any:
        return orjson.loads(self.body)

    @property
    def media_type(self) -> str:
        return self.headers.get("content-type", "").split(";")[0].strip()

    @property
    def codes(self) -> list[str]:
        return [error["extensions"]["code"] for error in self.json["errors"]]


@dataclass
class Endpoint:
    url: str
    """The gateway's base URL (``/graphql`` is added)."""
    http: aiohttp.ClientSession

    async def request(
        self,
        method: str,
        *,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        params: dict[str, str] | None = None,
        path: str = "/graphql",
    ) -> Reply:
        async with self.http.request(
            method, self.url + path, data=body, headers=headers or {}, params=params, allow_redirects=False
        ) as response:
            headers = {name.lower(): value for name, value in response.headers.items()}
            return Reply(response.status, headers, await response.read())

    async def post(self, payload: Any, *, accept: str | None = None, headers: dict[str, str] | None = None) -> Reply:
        """A JSON POST (``Content-Type: application/json``)."""
        sent = {"Content-Type": JSON, **(headers or {})}
        if accept is not None:
            sent["Accept"] = accept
        return await self.request("POST", body=orjson.dumps(payload), headers=sent)

    async def get(
        self, params: dict[str, str], *, accept: str | None = None, headers: dict[str, str] | None = None
    ) -> Reply:
        sent = dict(headers or {})
        if accept is not None:
            sent["Accept"] = accept
        return await self.request("GET", params=params, headers=sent)


def settings_for(sandbox_server: SandboxServerInfo, **overrides: Any) -> Settings:
    """The shared gateway's settings with ``overrides`` (``auth={}`` for production: the sandbox
    identity provider serves its keys over plain http, which production refuses)."""
    return gateway_settings(sandbox_server, **overrides)


@contextmanager
def serving(settings: Settings, **app_options: Any) -> Iterator[GatewayServer]:
    with GatewayServer(settings, **app_options) as server:
        yield server
