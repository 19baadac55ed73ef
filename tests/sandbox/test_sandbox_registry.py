"""The sandbox as a registry: a module that declares `SANDBOX` is an upstream that the server runs,
`mobius sandbox` serves on its port, and the demo points the gateway at."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
import uuid
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
from canary import CANARY_CREDENTIALS
from harness import free_port

from mobius.cli import main
from mobius.demo import sandbox_upstreams
from mobius.settings import ConfigError, UpstreamsSettings
from sandbox import (
    SandboxCredentials,
    SandboxRegistry,
    SandboxServer,
    SandboxUpstream,
    SandboxUrls,
    default_registry,
)
from sandbox.identity import IdentityCredentials
from sandbox.registry import RegistryError

ECHO_MODULE = '''
"""An upstream that exists only in this test: one route that checks a header token."""

from dataclasses import dataclass, field

from aiohttp import web

from sandbox.admin import upstream_app
from sandbox.keyring import RotatingSecret
from sandbox.registry import SandboxUpstream
from sandbox.upstream import Upstream, json_response


@dataclass(frozen=True, kw_only=True)
class EchoCredentials:
    token: str = field(default="echo-token", repr=False)


def create_echo_app(credentials, *, clock):
    token = RotatingSecret(credentials.token, clock)
    upstream = Upstream(
        error_body=lambda status, code, message: {"error": code},
        reset_state=lambda: None,
        clock=clock,
        keyrings={"token": token},
    )
    app = upstream_app(upstream)

    async def echo(request):
        key_id = token.match(request.headers.get("X-Token", ""))
        token.record(key_id)
        if key_id is None:
            return upstream.error(401, "unauthorized", "X-Token is required.")
        return json_response({"echo": request.query.get("say", "")})

    app.router.add_get("/echo", echo)
    return app


SANDBOX = SandboxUpstream(
    name="echo",
    default_port=8199,
    credentials=EchoCredentials(),
    create_app=create_echo_app,
    gateway_section=lambda base_url, credentials: {"base_url": base_url, "token": credentials.token},
    slot="identity",
)
'''


@pytest.fixture
def extra_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A package outside the sandbox holding one more upstream module (`echo`)."""
    name = f"extra_sandbox_{uuid.uuid4().hex[:8]}"
    package = tmp_path / name
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "echo.py").write_text(textwrap.dedent(ECHO_MODULE))
    monkeypatch.syspath_prepend(str(tmp_path))
    return name


def test_the_registry_holds_every_upstream_module_in_default_port_order() -> None:
    registry = default_registry()

    assert registry.names() == ("identity", "billing", "projects", "support", "ledger")
    assert [upstream.default_port for upstream in registry] == [8101, 8102, 8103, 8104, 8105]
    assert registry.slots() == ("identity", "billing", "projects", "support")
    assert [upstream.name for upstream in registry.vendors("billing")] == ["billing", "ledger"]
    assert registry["identity"].auth_routes == frozenset(
        {"POST /oauth/token", "GET /.well-known/jwks.json", "GET /.well-known/openid-configuration"}
    )
    with pytest.raises(KeyError, match="there are: identity, billing, projects, support, ledger"):
        registry["nope"]


async def test_a_new_module_is_discovered_started_counted_and_reset(
    extra_package: str, http: aiohttp.ClientSession
) -> None:
    registry = SandboxRegistry.discover("sandbox", extra_package)
    assert registry.names() == (*default_registry().names(), "echo")
    echo = registry["echo"]
    credentials = SandboxCredentials(echo=type(echo.credentials)(token="rotated-echo-token"))

    with SandboxServer(credentials=credentials, registry=registry) as urls:
        assert list(urls) == list(registry.names())
        async with http.get(f"{urls.echo}/echo?say=hi", headers={"X-Token": "rotated-echo-token"}) as response:
            assert (response.status, await response.json()) == (200, {"echo": "hi"})
        async with http.get(f"{urls['echo']}/echo", headers={"X-Token": "echo-token"}) as response:
            assert response.status == 401
        async with http.get(f"{urls.echo}/_sandbox/stats") as response:
            stats = await response.json()
        assert stats["routes"] == {"GET /echo": 2}
        assert stats["credentials"]["token"]["rejected"] == 1
        async with http.post(f"{urls.echo}/_sandbox/reset") as response:
            assert response.status == 200
        async with http.get(f"{urls.echo}/_sandbox/stats") as response:
            assert (await response.json())["requests"] == 0

    section = echo.gateway_settings("http://echo.test", credentials.of(echo))
    assert section == {"base_url": "http://echo.test", "token": "rotated-echo-token", "vendor": "echo"}
    assert [upstream.name for upstream in registry.vendors("identity")] == ["identity", "echo"]


def test_two_upstreams_with_one_name_or_default_port_are_refused() -> None:
    identity = default_registry()["identity"]
    clash = SandboxUpstream(
        name="identity-copy",
        default_port=identity.default_port,
        credentials=identity.credentials,
        create_app=identity.create_app,
        gateway_section=identity.gateway_section,
    )
    with pytest.raises(RegistryError, match="default port: 8101"):
        SandboxRegistry((identity, clash))
    with pytest.raises(RegistryError, match="name: identity"):
        SandboxRegistry((identity, identity))


def test_credentials_and_ports_for_an_unknown_upstream_are_refused_before_anything_binds() -> None:
    with pytest.raises(ValueError, match=r"unknown sandbox upstreams \['idnetity'\]"):
        SandboxServer(credentials=SandboxCredentials(idnetity=IdentityCredentials())).start()
    with pytest.raises(TypeError, match="must be IdentityCredentials"):
        SandboxServer(credentials=SandboxCredentials(identity="secret")).start()
    with pytest.raises(ValueError, match=r"unknown sandbox upstreams \['nope'\]"):
        SandboxServer(ports={"nope": 0}).start()


def test_credentials_read_by_name_fall_back_to_each_modules_defaults() -> None:
    given = IdentityCredentials(client_secret="s3cret-value")
    credentials = SandboxCredentials(identity=given)

    assert credentials.identity is given
    assert credentials.billing == default_registry()["billing"].credentials
    assert "s3cret-value" not in repr(credentials) + repr(given)
    assert credentials.replace(identity=IdentityCredentials()).identity == IdentityCredentials()
    with pytest.raises(AttributeError):
        _ = credentials.nope


@dataclass
class Started:
    process: subprocess.Popen[str]
    lines: dict[str, str]


def start_cli_sandbox(*args: str) -> Started:
    """`mobius sandbox ARGS` in a child process, with every upstream's listening line read."""
    process = subprocess.Popen(  # noqa: S603  (our own CLI, fixed arguments)
        [sys.executable, "-m", "mobius.cli", "sandbox", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    lines: dict[str, str] = {}
    for line in process.stdout:
        if line.startswith("admin:"):
            break
        name, url, *_ = line.split()
        lines[name] = url
    return Started(process, lines)


async def test_mobius_sandbox_takes_the_old_port_flags_and_port_name_equals_port(http: aiohttp.ClientSession) -> None:
    identity, projects = free_port(), free_port()
    others = [
        arg
        for name in default_registry().names()
        if name not in {"identity", "projects"}
        for arg in ("--port", f"{name}=0")
    ]
    started = start_cli_sandbox("--identity-port", str(identity), "--port", f"projects={projects}", *others)
    try:
        assert list(started.lines) == list(default_registry().names()), started.process.stderr
        assert started.lines["identity"] == f"http://127.0.0.1:{identity}"
        assert started.lines["projects"] == f"http://127.0.0.1:{projects}"
        for url in started.lines.values():
            async with http.get(f"{url}/_sandbox/stats") as response:
                assert response.status == 200
    finally:
        started.process.terminate()
        started.process.communicate(timeout=30)


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        (["--port", "nope=1"], "no sandbox upstream 'nope' (there are: identity, billing, projects"),
        (["--identity-port", "1", "--port", "identity=2"], "two ports for sandbox upstream 'identity': 1 and 2"),
    ],
)
def test_mobius_sandbox_refuses_ports_it_cannot_honour(
    args: list[str], problem: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["sandbox", *args]) == 2
    assert problem in capsys.readouterr().err


@pytest.mark.parametrize(
    "value", ["identity", "identity=", "=1", "identity=x", "identity=65536", "identity=-1", "identity=\u00b2"]
)
def test_mobius_sandbox_port_must_be_name_equals_port(value: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["sandbox", "--port", value])
    assert exited.value.code == 2
    assert "expected NAME=PORT" in capsys.readouterr().err


FAKE_URLS = SandboxUrls({name: f"http://{name}.sandbox.test" for name in default_registry().names()})


def test_the_demo_points_each_gateway_upstream_at_the_sandbox_named_like_it() -> None:
    registry = default_registry()

    sections = sandbox_upstreams(FAKE_URLS, CANARY_CREDENTIALS)

    assert set(sections) == set(UpstreamsSettings.model_fields)
    for name, section in sections.items():
        assert section == registry[name].gateway_settings(FAKE_URLS[name], CANARY_CREDENTIALS.of(registry[name]))
        assert "vendor" not in section
    assert sections["billing"]["auth"]["api_key"] == CANARY_CREDENTIALS.billing.api_key


def test_the_billing_vendor_variable_points_the_billing_upstream_at_the_ledger_sandbox(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    default = sandbox_upstreams(FAKE_URLS, CANARY_CREDENTIALS)
    monkeypatch.setenv("MOBIUS_UPSTREAMS__BILLING__VENDOR", "ledger")

    sections = sandbox_upstreams(FAKE_URLS, CANARY_CREDENTIALS)

    assert sections["billing"] == {
        "base_url": FAKE_URLS.ledger,
        "max_fanout": 10,
        "auth": {"type": "basic", "username": CANARY_CREDENTIALS.ledger.api_key, "password": ""},
        "vendor": "ledger",
    }
    assert {name: s for name, s in sections.items() if name != "billing"} == {
        name: s for name, s in default.items() if name != "billing"
    }
    assert sandbox_upstreams(FAKE_URLS, CANARY_CREDENTIALS, vendors={"billing": "billing"}) == default


def test_a_vendor_no_sandbox_serves_is_a_configuration_error_naming_the_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MOBIUS_UPSTREAMS__BILLING__VENDOR", "stripe")

    with pytest.raises(
        ConfigError, match=r"upstreams\.billing\.vendor: the sandbox has no 'stripe' for billing"
    ) as raised:
        sandbox_upstreams(FAKE_URLS, CANARY_CREDENTIALS)
    assert "(it has: billing, ledger)" in str(raised.value)


async def test_mobius_demo_starts_every_sandbox_upstream_and_the_gateway(http: aiohttp.ClientSession) -> None:
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "mobius.cli", "demo", "--port", str(port)),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        first = (await process.stdout.readline()).decode()
        assert first.startswith("Mobius demo: sandbox upstreams "), first
        started = dict(pair.split("=", 1) for pair in first.removeprefix("Mobius demo: sandbox upstreams ").split())
        assert list(started) == list(default_registry().names())
        for url in started.values():
            async with http.get(f"{url}/_sandbox/stats") as response:
                assert response.status == 200
        assert await gateway_answer(http, port, '{ organization(id: "org-1") { name } }') == {
            "data": {"organization": {"name": "Acme Robotics"}}
        }
    finally:
        process.terminate()
        await process.communicate()


async def gateway_answer(http: aiohttp.ClientSession, port: int, query: str) -> object:
    """The answer once the gateway listens (it prints its address before it binds); 10 s at most."""
    for _ in range(200):
        try:
            async with http.post(f"http://127.0.0.1:{port}/graphql", json={"query": query}) as response:
                return await response.json()
        except aiohttp.ClientConnectionError:
            await asyncio.sleep(0.05)
    raise AssertionError(f"the demo gateway never answered on port {port}")
