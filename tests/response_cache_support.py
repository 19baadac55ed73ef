"""The response-cache gateway the gateway tests share: a client that reads ``Mobius-Cache``, the
settings, and the ``server`` and ``client`` fixtures (registered in ``tests/gateway/conftest.py``)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import orjson
import pytest
from clock import FakeClock
from harness import ADMIN_HEADERS, DASHBOARD_QUERY, GatewayServer, Sandbox, gateway_settings

from mobius.settings import CallerSettings, Settings
from sandbox import SandboxCredentials, SandboxUrls

SandboxServerInfo = tuple[SandboxUrls, SandboxCredentials]
RESPONSE_STATS = "{ cacheStats { responses { enabled hits l1Hits misses stores bypasses skipped errors } } }"


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes
    cache: str | None
    headers: dict[str, str]

    @property
    def json(self) -> dict[str, Any]:
        payload: dict[str, Any] = orjson.loads(self.body)
        return payload


@dataclass
class Client:
    url: str
    http: aiohttp.ClientSession

    async def post(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        *,
        operation_name: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Answer:
        payload: dict[str, Any] = {"query": query, "variables": variables or {}}
        if operation_name is not None:
            payload["operationName"] = operation_name
        async with self.http.post(f"{self.url}/graphql", json=payload, headers=headers) as response:
            return Answer(
                response.status, await response.read(), response.headers.get("Mobius-Cache"), dict(response.headers)
            )

    async def dashboard(self, org_id: str = "org-1") -> Answer:
        return await self.post(DASHBOARD_QUERY, {"orgId": org_id})

    async def stats(self) -> dict[str, Any]:
        stats: dict[str, Any] = (await self.post(RESPONSE_STATS)).json["data"]["cacheStats"]["responses"]
        return stats

    async def invalidate(self, body: dict[str, Any]) -> dict[str, Any]:
        async with self.http.post(f"{self.url}/admin/cache/invalidate", json=body, headers=ADMIN_HEADERS) as response:
            assert response.status == 200, await response.text()
            result: dict[str, Any] = await response.json()
            return result


def settings_with_response_cache(
    sandbox_server: SandboxServerInfo, redis: dict[str, str] | None = None, **response: Any
) -> Settings:
    """Response cache on; entity TTLs without jitter so freshness is exact; a second caller that
    reads PII as another user."""
    cache = {"jitter_ratio": 0.0, "response": {"enabled": True, **response}}
    overrides: dict[str, Any] = {"cache": cache}
    if redis is not None:
        overrides["redis"] = redis
    settings = gateway_settings(sandbox_server, **overrides)
    reader = CallerSettings(name="reader", token="reader-token", scopes=["pii:read"], user_id="user-2")
    return settings.model_copy(update={"callers": [*settings.callers, reader]})


@pytest.fixture
def server(
    sandbox_server: SandboxServerInfo, redis_config: dict[str, str], clock: FakeClock
) -> Iterator[GatewayServer]:
    with GatewayServer(settings_with_response_cache(sandbox_server, redis_config), cache_clock=clock) as gateway:
        yield gateway


@pytest.fixture
async def client(server: GatewayServer, sandbox: Sandbox, http: aiohttp.ClientSession) -> Client:
    """A gateway on the real Redis under the test's own prefix, its response cache on, its cache clock faked."""
    client = Client(server.url, http)
    await client.post('{ user(id: "user-1") { id } }')  # the sandbox reset revoked the token: fetch a new one
    return client
