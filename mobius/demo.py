"""The demo: the sandbox upstreams on ephemeral loopback ports, wired into gateway settings."""

from __future__ import annotations

from typing import Any

from mobius.settings import Settings, load_settings
from sandbox import SandboxCredentials, SandboxUrls

DEMO_CALLER_TOKEN = "demo-admin-token"  # noqa: S105  (a documented demo credential, not a secret)


def sandbox_upstreams(urls: SandboxUrls, credentials: SandboxCredentials) -> dict[str, Any]:
    """The ``upstreams`` section for a running sandbox, with its credentials (as a config file has it)."""
    return {
        "identity": {
            "base_url": urls.identity,
            "auth": {
                "type": "oauth2_client_credentials",
                "token_url": "/oauth/token",
                "client_id": credentials.identity_client_id,
                "client_secret": credentials.identity_client_secret,
            },
        },
        "billing": {
            "base_url": urls.billing,
            "max_fanout": 10,
            "auth": {
                "type": "api_key_hmac",
                "api_key": credentials.billing_api_key,
                "signing_secret": credentials.billing_signing_secret,
            },
        },
        "projects": {
            "base_url": urls.projects,
            "auth": {"type": "bearer", "token": credentials.projects_token},
        },
    }


def demo_settings(
    urls: SandboxUrls, credentials: SandboxCredentials, *, caller_token: str = DEMO_CALLER_TOKEN, **overrides: Any
) -> Settings:
    """Gateway settings that talk to a running sandbox with its credentials."""
    callers = [
        {
            "name": "demo-admin",
            "token": caller_token,
            "scopes": ["pii:read", "cache:admin", "upstreams:admin"],
            "user_id": "user-1",
        }
    ]
    return load_settings(upstreams=sandbox_upstreams(urls, credentials), callers=callers, **overrides)
