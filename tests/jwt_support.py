"""Tokens an attacker would forge, and how a refused credential looks over HTTP."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from dataclasses import dataclass
from typing import Any

import aiohttp
import orjson
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicNumbers

from sandbox import SANDBOX_AUDIENCE, SANDBOX_ISSUER


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _int(member: str) -> int:
    return int.from_bytes(base64.urlsafe_b64decode(member + "=" * (-len(member) % 4)), "big")


def valid_claims(**changes: Any) -> dict[str, Any]:
    now = int(time.time())
    claims = {"iss": SANDBOX_ISSUER, "aud": SANDBOX_AUDIENCE, "sub": "user-1", "iat": now, "exp": now + 600}
    return {**claims, "scope": "users:write billing:write issues:write pii:read pii:write cache:admin", **changes}


def unsigned_token(kid: str, **claims: Any) -> str:
    """``alg: none``: no signature at all."""
    header = b64url(orjson.dumps({"alg": "none", "typ": "JWT", "kid": kid}))
    return f"{header}.{b64url(orjson.dumps(valid_claims(**claims)))}."


def hmac_with_public_key(jwk: dict[str, Any], **claims: Any) -> str:
    """HS256 keyed with the provider's public RSA key in PEM: the classic algorithm confusion."""
    public_key = RSAPublicNumbers(_int(jwk["e"]), _int(jwk["n"])).public_key()
    pem = public_key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    header = b64url(orjson.dumps({"alg": "HS256", "typ": "JWT", "kid": jwk["kid"]}))
    signing_input = f"{header}.{b64url(orjson.dumps(valid_claims(**claims)))}"
    signature = hmac.new(pem, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64url(signature)}"


def with_claims_replaced(token: str, **claims: Any) -> str:
    """The token's header and signature around other claims (a tampered payload)."""
    header, payload, signature = token.split(".")
    original = orjson.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return f"{header}.{b64url(orjson.dumps({**original, **claims}))}.{signature}"


@dataclass(frozen=True)
class Refusal:
    status: int
    www_authenticate: str
    body: str


async def post_with(http: aiohttp.ClientSession, url: str, authorization: str, query: str = "{ __typename }") -> Any:
    """POST a query with an ``Authorization`` header: the JSON answer, or the ``Refusal``."""
    headers = {"Authorization": authorization}
    async with http.post(f"{url}/graphql", json={"query": query}, headers=headers) as response:
        if response.status == 200:
            return await response.json()
        return Refusal(response.status, response.headers.get("WWW-Authenticate", ""), await response.text())
