"""Invalidating the entity cache by hand: the admin endpoint and the scope it needs, and the
``mobius cache invalidate`` command on the configured Redis."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest
import redis as sync_redis
import yaml
from cache_gateway_support import (
    invalidate,
)
from cache_support import USERS
from config_support import offline_upstreams
from harness import Gateway, GatewayServer, Sandbox, gateway_settings
from response_cache_support import SandboxServerInfo

from mobius.cache_setup import credential_scopes
from mobius.cli import main
from mobius.settings import CallerSettings, load_settings


async def test_the_admin_endpoint_needs_the_cache_admin_scope(
    sandbox_server: SandboxServerInfo, sandbox: Sandbox, http: aiohttp.ClientSession
) -> None:
    settings = gateway_settings(sandbox_server)
    reader = CallerSettings(name="reader", token="reader-token", scopes=["pii:read"])
    settings = settings.model_copy(update={"callers": [*settings.callers, reader]})
    with GatewayServer(settings) as server:
        gateway = Gateway(url=server.url, http=http)
        body = {"entities": ["User:user-1"]}
        assert (await invalidate(gateway, body, headers={}))[0] == 401
        assert (await invalidate(gateway, body, headers={"Authorization": "Bearer nope"}))[0] == 401
        assert (await invalidate(gateway, body, headers={"Authorization": "Bearer reader-token"}))[0] == 403
        assert (await invalidate(gateway, {"entities": ["Nothing:1"]}))[0] == 400
        assert (await invalidate(gateway, {}))[0] == 400
        assert await invalidate(gateway, body) == (200, {"deleted": 0})


def test_cli_invalidates_on_the_configured_redis(
    tmp_path: Path, redis_url: str, redis_prefix: str, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "mobius.yaml"
    upstreams = offline_upstreams()
    upstreams["identity"]["auth"] = {
        "type": "oauth2_client_credentials",
        "token_url": "/t",
        "client_id": "gw",
        "client_secret": "s",
    }
    config.write_text(yaml.safe_dump({"redis": {"url": redis_url, "key_prefix": redis_prefix}, "upstreams": upstreams}))
    scope = credential_scopes(load_settings(config))["identity"]
    key = redis_prefix + USERS.key("u-42", scope)
    client = sync_redis.Redis.from_url(redis_url)
    try:
        client.set(key, b"entry", ex=60)

        assert main(["cache", "invalidate", "--config", str(config), "--entity", "User:u-42"]) == 0
        assert client.exists(key) == 0
        assert "deleted 1" in capsys.readouterr().out

        assert main(["cache", "invalidate", "--config", str(config), "--entity", "u-42"]) == 2
        assert "Type:id" in capsys.readouterr().err
    finally:
        client.close()


def test_cli_explains_that_the_in_process_cache_cannot_be_reached(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "mobius.yaml"
    config.write_text(yaml.safe_dump({"upstreams": offline_upstreams()}))
    assert main(["cache", "invalidate", "--config", str(config), "--tag", "org:org-1"]) == 2
    assert "redis.url" in capsys.readouterr().err
