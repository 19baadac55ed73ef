"""Who may call the gateway: static API keys and JWTs verified against a JWKS."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from mobius.settings.base import SecretRef, Strict


class CallerSettings(Strict):
    """A client of the gateway, recognised by its bearer token."""

    name: str
    token: SecretRef
    scopes: list[str] = []
    user_id: str | None = None


JwtAlgorithm = Literal["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"]
"""Asymmetric algorithms only: an HMAC algorithm would let anyone holding the public key sign."""


class JwtSettings(Strict):
    """Callers identified by JWT bearer tokens, verified against the keys of a JWKS (a URL or a file).

    ``scopes_claim`` may hold a space-separated string (``scope``) or a list (``scp``, ``scopes``).
    The caller's name is the first of ``name_claims`` the token carries, else its user id.
    """

    jwks_url: str | None = Field(default=None, description="e.g. https://idp.example/.well-known/jwks.json")
    jwks_file: Path | None = Field(default=None, description="a JWKS document on disk, re-read when it changes")
    issuer: str = Field(min_length=1, description="the exact `iss` accepted")
    audiences: list[str] = Field(min_length=1, description="tokens must name one of these in `aud`")
    algorithms: list[JwtAlgorithm] = Field(default=["RS256", "ES256"], min_length=1)
    leeway_s: float = Field(default=30.0, ge=0, le=300, description="clock skew allowed on `exp`, `nbf`, `iat`")
    scopes_claim: str = "scope"
    user_id_claim: str = "sub"
    name_claims: list[str] = ["client_id", "azp"]
    max_token_bytes: int = Field(default=8192, ge=256, le=65536, description="longer tokens are refused unread")
    verified_cache_size: int = Field(
        default=4096, ge=0, description="callers of recently verified tokens kept until expiry or a key change; 0: off"
    )
    jwks_cache_s: float = Field(default=300.0, gt=0, description="keys older than this are refetched")
    jwks_refresh_min_interval_s: float = Field(
        default=10.0, ge=0, description="at most one fetch per interval for tokens signed by an unknown key"
    )
    jwks_timeout_s: float = Field(default=2.0, gt=0)
    jwks_max_bytes: int = Field(default=256 * 1024, ge=1024)

    @model_validator(mode="after")
    def _one_key_source(self) -> JwtSettings:
        if (self.jwks_url is None) == (self.jwks_file is None):
            raise ValueError("give exactly one of `jwks_url` or `jwks_file`")
        if self.jwks_url is not None and not self.jwks_url.startswith(("https://", "http://")):
            raise ValueError("`jwks_url` must be an http(s) URL")
        return self


class InboundAuthSettings(Strict):
    """How the gateway's own callers are identified (besides the static API keys in ``callers``)."""

    jwt: JwtSettings | None = None
