"""Startup honesty: a secret file that cannot be read is reported at start and by
``/health/ready`` (503, naming the setting, never a value) until it can be read again; an
unreadable ``redis.url`` stops the start."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp
import pytest
import structlog
from canary import CANARY, CANARY_CALLER_TOKEN
from harness import GatewayServer
from http_support import Endpoint, SandboxServerInfo

from mobius.app import create_app
from mobius.demo import sandbox_upstreams
from mobius.settings import ConfigError, Settings, load_settings


def settings_with_files(sandbox_server: SandboxServerInfo, secrets: Path, **overrides: Any) -> Settings:
    urls, credentials = sandbox_server
    upstreams = sandbox_upstreams(urls, credentials)
    upstreams["billing"]["auth"]["signing_secret"] = {"file": str(secrets / "billing_signing_secret")}
    callers = [{"name": "ops", "token": {"file": str(secrets / "ops_token")}, "scopes": ["pii:read"]}]
    return load_settings(upstreams=upstreams, callers=callers, **overrides)


async def test_unreadable_secret_files_keep_the_gateway_unready_until_they_appear(
    sandbox_server: SandboxServerInfo, tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    _, credentials = sandbox_server
    with structlog.testing.capture_logs() as events:
        server = GatewayServer(settings_with_files(sandbox_server, tmp_path)).__enter__()
    try:
        endpoint = Endpoint(server.url, http)
        not_ready = await endpoint.request("GET", path="/health/ready")
        (tmp_path / "billing_signing_secret").write_text(credentials.billing.signing_secret + "\n")
        (tmp_path / "ops_token").write_text(CANARY_CALLER_TOKEN)
        ready = await endpoint.request("GET", path="/health/ready")
        billed = await endpoint.post(
            {"query": '{ organization(id: "org-1") { billing { plan } } viewer { id } }'},
            headers={"Authorization": f"Bearer {CANARY_CALLER_TOKEN}"},
        )
    finally:
        server.__exit__()

    assert not_ready.status == 503
    assert not_ready.json["status"] == "misconfigured"
    problems = not_ready.json["problems"]
    assert set(problems) == {"upstreams.billing.auth.signing_secret", "callers[0].token"}
    assert problems["callers[0].token"] == f"secret file '{tmp_path / 'ops_token'}' cannot be read (FileNotFoundError)"
    assert CANARY not in not_ready.body.decode()
    logged = {event["setting"]: event for event in events if event["event"] == "not_ready"}
    assert set(logged) == set(problems)
    assert all(event["log_level"] == "error" for event in logged.values())
    assert (ready.status, ready.json["status"]) == (200, "ready")
    assert "problems" not in ready.json
    assert billed.json["data"]["organization"]["billing"]["plan"]
    assert billed.json["data"]["viewer"] is None, "the ops caller is bound to no user"


async def test_a_caller_whose_token_cannot_be_read_is_refused_not_failed(
    sandbox_server: SandboxServerInfo, tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    with GatewayServer(settings_with_files(sandbox_server, tmp_path)) as server:
        reply = await Endpoint(server.url, http).post(
            {"query": "{ __typename }"}, headers={"Authorization": "Bearer whatever"}
        )

    assert (reply.status, reply.codes) == (401, ["UNAUTHENTICATED"])


def test_an_unreadable_redis_url_stops_the_start_naming_the_setting(
    sandbox_server: SandboxServerInfo, tmp_path: Path
) -> None:
    settings = settings_with_files(sandbox_server, tmp_path, redis={"url": {"file": str(tmp_path / "redis_url")}})

    with pytest.raises(ConfigError) as refused:
        create_app(settings)

    assert str(refused.value) == f"redis.url: secret file '{tmp_path / 'redis_url'}' cannot be read (FileNotFoundError)"
