"""The identity upstream as an identity provider: RS256 JWTs for callers of the gateway, signed by a
key it publishes at ``/.well-known/jwks.json`` (discovery at ``/.well-known/openid-configuration``).

Tokens come from the admin API, ``POST /_sandbox/tokens {"sub", "scopes", "ttl_s", "client_id",
"audience", "claims"}`` (``claims`` sets or overrides any claim, so tests can mint expired, early,
foreign tokens). ``POST /_sandbox/rotate-signing-key {"keep_previous": true}`` signs with a new key
from then on; the previous one stays published unless ``keep_previous`` is false. ``reset`` goes
back to the first key.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from dataclasses import dataclass, field
from typing import Any

import jwt
import orjson
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from sandbox.upstream import Clock, json_response

SANDBOX_ISSUER = "https://identity.sandbox.mobius.local"
"""The ``iss`` of every token this sandbox signs."""
SANDBOX_AUDIENCE = "mobius-gateway"
"""The default ``aud``: the gateway these tokens are for."""
ALGORITHM = "RS256"
JWKS_PATH = "/.well-known/jwks.json"
DISCOVERY_PATH = "/.well-known/openid-configuration"


@dataclass(frozen=True, slots=True)
class SigningKey:
    kid: str
    private_key: rsa.RSAPrivateKey = field(repr=False)
    public_jwk: dict[str, Any]

    @classmethod
    def generate(cls) -> SigningKey:
        private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        public_jwk: dict[str, Any] = RSAAlgorithm.to_jwk(private_key.public_key(), as_dict=True)
        kid = _thumbprint(public_jwk)
        published = {**public_jwk, "kid": kid, "use": "sig", "alg": ALGORITHM}
        return cls(kid=kid, private_key=private_key, public_jwk=published)


def _thumbprint(jwk: dict[str, Any]) -> str:
    """RFC 7638: the SHA-256 of the key's required members, as the key id."""
    members = json.dumps({"e": jwk["e"], "kty": "RSA", "n": jwk["n"]}, separators=(",", ":"), sort_keys=True)
    return base64.urlsafe_b64encode(hashlib.sha256(members.encode()).digest()).rstrip(b"=").decode()


class SigningKeys:
    """The key that signs (first) and the keys still published for verification."""

    def __init__(self) -> None:
        self._first = SigningKey.generate()
        self._published = [self._first]

    @property
    def current(self) -> SigningKey:
        return self._published[0]

    def rotate(self, *, keep_previous: bool) -> list[str]:
        new = SigningKey.generate()
        self._published = [new, *self._published] if keep_previous else [new]
        return [key.kid for key in self._published]

    def reset(self) -> None:
        self._published = [self._first]

    def jwks(self) -> dict[str, Any]:
        return {"keys": [key.public_jwk for key in self._published]}


class TokenRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    sub: str = Field(default="user-1", min_length=1, max_length=200)
    scopes: list[str] = Field(default=[], max_length=50)
    ttl_s: int = Field(default=3600, ge=1, le=86_400)
    client_id: str | None = Field(default=None, max_length=200)
    audience: str = SANDBOX_AUDIENCE
    claims: dict[str, Any] = {}


@dataclass(frozen=True, slots=True)
class JwtIssuer:
    keys: SigningKeys
    clock: Clock

    def mint(self, request: TokenRequest) -> dict[str, Any]:
        now = int(self.clock())
        claims: dict[str, Any] = {
            "iss": SANDBOX_ISSUER,
            "sub": request.sub,
            "aud": request.audience,
            "iat": now,
            "nbf": now,
            "exp": now + request.ttl_s,
            "jti": secrets.token_urlsafe(12),
            "scope": " ".join(request.scopes),
        }
        if request.client_id is not None:
            claims["client_id"] = request.client_id
        claims.update(request.claims)
        key = self.keys.current
        token = jwt.encode(claims, key.private_key, algorithm=ALGORITHM, headers={"kid": key.kid, "typ": "JWT"})
        return {
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": request.ttl_s,
            "scope": claims["scope"],
            "kid": key.kid,
        }

    async def issue(self, request: web.Request) -> web.Response:
        """Admin: ``POST /_sandbox/tokens``, a signed token for a caller of the gateway."""
        try:
            body = await request.read()
            parsed = TokenRequest.model_validate(orjson.loads(body) if body.strip() else {})
        except orjson.JSONDecodeError:
            return _invalid("Body must be JSON.")
        except ValidationError as exc:
            return _invalid("; ".join(f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in exc.errors()))
        try:
            minted = self.mint(parsed)
        except (TypeError, ValueError) as exc:  # claims JWT encoding refuses, e.g. a non-string `iss`
            return _invalid(f"Cannot sign these claims: {exc}")
        return json_response(minted, headers={"Cache-Control": "no-store"})

    async def rotate(self, request: web.Request) -> web.Response:
        """Admin: ``POST /_sandbox/rotate-signing-key {"keep_previous": bool}``."""
        body = await request.read()
        try:
            parsed = orjson.loads(body) if body.strip() else {}
        except orjson.JSONDecodeError:
            return _invalid("Body must be JSON.")
        keep = parsed.get("keep_previous", True) if isinstance(parsed, dict) else None
        if not isinstance(keep, bool):
            return _invalid('Body must be {"keep_previous": true|false}.')
        published = self.keys.rotate(keep_previous=keep)
        return json_response({"kid": published[0], "published": published})

    async def jwks(self, request: web.Request) -> web.Response:
        return json_response(self.keys.jwks(), headers={"Cache-Control": "max-age=300"})

    async def discovery(self, request: web.Request) -> web.Response:
        base = f"{request.scheme}://{request.host}"
        return json_response(
            {
                "issuer": SANDBOX_ISSUER,
                "jwks_uri": f"{base}{JWKS_PATH}",
                "id_token_signing_alg_values_supported": [ALGORITHM],
                "subject_types_supported": ["public"],
            }
        )


def _invalid(message: str) -> web.Response:
    return json_response({"error": {"code": "invalid_request", "message": message}}, status=400)
