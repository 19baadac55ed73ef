"""The secrets the sandbox upstreams accept; defaults match the gateway's example configuration."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, kw_only=True)
class SandboxCredentials:
    identity_client_id: str = "mobius-gateway"
    identity_client_secret: str = "sandbox-identity-secret"
    billing_api_key: str = "sk_sandbox_mobius"
    billing_signing_secret: str = "sandbox-billing-signing-secret"
    projects_token: str = "sandbox-projects-token"
    token_lifetime_s: int = 3600
    identity_audience: str | None = None
    """When set, the token endpoint requires exactly this `audience`."""
    identity_scopes: frozenset[str] | None = None
    """When set, the token endpoint refuses a `scope` naming anything else."""
    billing_signature_required: bool = True
    """False accepts unsigned billing requests (signed ones are still verified): for benchmark peers
    that cannot sign."""
