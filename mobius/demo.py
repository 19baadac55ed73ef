"""The demo: the sandbox upstreams on ephemeral loopback ports, wired into gateway settings."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from pydantic_settings import EnvSettingsSource

from clients.registry import registry
from mobius.settings import ConfigError, Settings, load_settings
from sandbox import (
    JWKS_PATH,
    SANDBOX_AUDIENCE,
    SANDBOX_ISSUER,
    SandboxCredentials,
    SandboxUpstream,
    SandboxUrls,
    default_registry,
)

DEMO_CALLER_TOKEN = "demo-admin-token"  # noqa: S105  (a documented demo credential, not a secret)
DEMO_CALLER_SCOPES = (
    "users:write",
    "billing:write",
    "issues:write",
    "billing:read",
    "issues:read",
    "tickets:read",
    "pii:read",
    "pii:write",
    "cache:admin",
    "upstreams:admin",
)


def sandbox_upstreams(
    urls: SandboxUrls, credentials: SandboxCredentials, *, vendors: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """The ``upstreams`` section for a running sandbox, with its credentials (as a config file has it).

    Each gateway upstream is served by the sandbox of its vendor: ``vendors`` (upstream -> vendor),
    else ``upstreams.<name>.vendor`` from the environment, else the sandbox named like the upstream.
    Sandboxes the gateway declares no upstream for (``clients.registry``) are left out.
    """
    chosen = _env_vendors() if vendors is None else vendors
    sections: dict[str, Any] = {}
    for slot in default_registry().slots():
        if registry().upstream(slot) is None:
            continue
        upstream = _vendor(slot, chosen.get(slot, slot))
        if upstream.name in urls:
            sections[slot] = upstream.gateway_settings(urls[upstream.name], credentials.of(upstream))
    return sections


def _vendor(slot: str, vendor: str) -> SandboxUpstream[Any]:
    candidates = default_registry().vendors(slot)
    for upstream in candidates:
        if upstream.name == vendor:
            return upstream
    known = ", ".join(upstream.name for upstream in candidates)
    raise ConfigError(f"upstreams.{slot}.vendor: the sandbox has no {vendor!r} for {slot} (it has: {known})")


def _env_vendors() -> dict[str, str]:
    """``upstreams.<name>.vendor`` as the ``MOBIUS_*`` variables set it (read by the settings' own rules)."""
    upstreams = EnvSettingsSource(Settings)().get("upstreams")
    if not isinstance(upstreams, dict):
        return {}
    return {
        name: section["vendor"]
        for name, section in upstreams.items()
        if isinstance(section, dict) and isinstance(section.get("vendor"), str)
    }


def sandbox_identity_provider(urls: SandboxUrls) -> dict[str, Any]:
    """The ``auth`` section that trusts the JWTs the sandbox identity upstream signs."""
    return {
        "jwt": {
            "jwks_url": f"{urls.identity}{JWKS_PATH}",
            "issuer": SANDBOX_ISSUER,
            "audiences": [SANDBOX_AUDIENCE],
            "algorithms": ["RS256"],
        }
    }


def token_command(urls: SandboxUrls, scopes: tuple[str, ...] = DEMO_CALLER_SCOPES) -> str:
    """A shell line that mints a caller token from the sandbox identity provider."""
    body = json.dumps({"sub": "user-1", "scopes": list(scopes), "ttl_s": 3600})
    return f"curl -s -X POST {urls.identity}/_sandbox/tokens -H 'Content-Type: application/json' -d '{body}'"


def demo_settings(
    urls: SandboxUrls, credentials: SandboxCredentials, *, caller_token: str = DEMO_CALLER_TOKEN, **overrides: Any
) -> Settings:
    """Gateway settings that talk to a running sandbox with its credentials, trust the JWTs its
    identity upstream signs, and know the demo caller (a static API key with every scope)."""
    callers = [{"name": "demo-admin", "token": caller_token, "scopes": list(DEMO_CALLER_SCOPES), "user_id": "user-1"}]
    overrides.setdefault("auth", sandbox_identity_provider(urls))
    return load_settings(upstreams=sandbox_upstreams(urls, credentials), callers=callers, **overrides)
