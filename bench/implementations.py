"""How each implementation under test is started: same sandbox, same worker count, own port."""

from __future__ import annotations

import base64
import json
import sys
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.floor import Credentials
from bench.processes import HOST
from clients.registry import registry
from mobius.demo import sandbox_upstreams
from sandbox import SandboxCredentials, SandboxUrls

ROOT = Path(__file__).resolve().parent.parent
PEERS_DIR = ROOT / "bench" / "peers"
NODE_BIN = PEERS_DIR / "node_modules" / ".bin"
CREDENTIALS = SandboxCredentials()


@dataclass(frozen=True, slots=True)
class SandboxPorts:
    """The ports of the three upstreams every implementation uses; any other upstream the gateway
    declares gets the ports after the highest, in the gateway's order (only Mobius talks to them)."""

    identity: int
    billing: int
    projects: int

    def names(self) -> tuple[str, ...]:
        """A sandbox per upstream the gateway declares (each served by its default vendor)."""
        named = ("identity", "billing", "projects")
        return (*named, *(upstream.name for upstream in registry().upstreams if upstream.name not in named))

    def port(self, upstream: str) -> int:
        named = {"identity": self.identity, "billing": self.billing, "projects": self.projects}
        if upstream in named:
            return named[upstream]
        return max(named.values()) + 1 + self.names()[3:].index(upstream)

    def url(self, upstream: str) -> str:
        return f"http://{HOST}:{self.port(upstream)}"

    def urls(self) -> dict[str, str]:
        return {name: self.url(name) for name in self.names()}


@dataclass(frozen=True, slots=True)
class Launch:
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)
    cwd: Path | None = None


@dataclass(frozen=True, slots=True)
class Implementation:
    name: str
    port: int
    auth: str
    """How it authenticates to the upstreams, for the report."""

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}/graphql"


def mobius_config(
    sandbox: SandboxPorts, port: int, runtime: Mapping[str, Any], extra: Mapping[str, Any]
) -> dict[str, Any]:
    """Gateway settings with full upstream auth (the same as the demo's), the response cache off
    unless ``extra`` turns it on."""
    return {
        "server": {"host": HOST, "port": port, "graphiql": False, "log_format": "json"},
        "upstreams": sandbox_upstreams(SandboxUrls(sandbox.urls()), CREDENTIALS, vendors={}),
        "runtime": dict(runtime),
        "cache": {"enabled": False},
        **extra,
    }


def launch_mobius(config_path: Path, workers: int) -> Launch:
    mobius = Path(sys.executable).parent / "mobius"
    return Launch([str(mobius), "serve", "--config", str(config_path), "--workers", str(workers)])


def launch_yoga(sandbox: SandboxPorts, port: int, workers: int) -> Launch:
    return Launch(
        ["node", str(PEERS_DIR / "yoga" / "server.mjs")],
        env={
            "PORT": str(port),
            "WORKERS": str(workers),
            "IDENTITY_URL": sandbox.url("identity"),
            "BILLING_URL": sandbox.url("billing"),
            "PROJECTS_URL": sandbox.url("projects"),
            "NODE_ENV": "production",
        },
    )


def identity_token(sandbox: SandboxPorts) -> str:
    """A client-credentials token fetched once, for a peer that cannot run the OAuth2 flow itself."""
    c = CREDENTIALS
    basic = base64.b64encode(f"{c.identity.client_id}:{c.identity.client_secret}".encode()).decode()
    request = urllib.request.Request(  # noqa: S310  (loopback only)
        f"{sandbox.url('identity')}/oauth/token",
        data=b"grant_type=client_credentials",
        headers={"authorization": f"Basic {basic}", "content-type": "application/x-www-form-urlencoded"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        token: str = json.loads(response.read())["access_token"]
    return token


def hive_env(sandbox: SandboxPorts, token: str) -> dict[str, str]:
    return {
        "IDENTITY_URL": sandbox.url("identity"),
        "BILLING_URL": sandbox.url("billing"),
        "PROJECTS_URL": sandbox.url("projects"),
        "IDENTITY_TOKEN": token,
        "BILLING_API_KEY": CREDENTIALS.billing.api_key,
        "PROJECTS_TOKEN": CREDENTIALS.projects.token,
        "NODE_ENV": "production",
    }


def launch_compose(sandbox: SandboxPorts, token: str, output: Path) -> Launch:
    return Launch(
        [str(NODE_BIN / "mesh-compose"), "-o", str(output)],
        env=hive_env(sandbox, token),
        cwd=PEERS_DIR / "hive",
    )


def launch_hive(sandbox: SandboxPorts, token: str, supergraph: Path, port: int, workers: int) -> Launch:
    return Launch(
        [
            str(NODE_BIN / "hive-gateway"),
            "supergraph",
            str(supergraph),
            "--config-path",
            "gateway.config.ts",
            "--host",
            HOST,
            "--port",
            str(port),
            "--fork",
            str(workers),
        ],
        env=hive_env(sandbox, token),
        cwd=PEERS_DIR / "hive",
    )


def floor_credentials() -> Credentials:
    c = CREDENTIALS
    return Credentials(
        identity_client_id=c.identity.client_id,
        identity_client_secret=c.identity.client_secret,
        billing_api_key=c.billing.api_key,
        billing_signing_secret=c.billing.signing_secret,
        projects_token=c.projects.token,
    )


def launch_floor(kind: str, config: Path, port: int, workers: int) -> Launch:
    """`floor-bytes` or `floor-io` (bench/floor.py), with the uvicorn settings of `mobius serve`."""
    argv = [sys.executable, "-m", "bench.floor", kind, "--config", str(config), "--host", HOST, "--port", str(port)]
    return Launch([*argv, "--workers", str(workers)], cwd=ROOT)
