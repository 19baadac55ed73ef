"""The identity upstream as an identity provider: signed JWTs, the JWKS that verifies them, rotation."""

from __future__ import annotations

import time
from typing import Any

import aiohttp
import jwt
import pytest

from sandbox import JWKS_PATH, SANDBOX_AUDIENCE, SANDBOX_ISSUER, SandboxUrls


async def _post(http: aiohttp.ClientSession, url: str, body: object) -> tuple[int, dict[str, Any]]:
    async with http.post(url, json=body) as response:
        return response.status, await response.json()


async def _jwks(http: aiohttp.ClientSession, urls: SandboxUrls) -> dict[str, Any]:
    async with http.get(f"{urls.identity}{JWKS_PATH}") as response:
        assert response.status == 200
        keys: dict[str, Any] = await response.json()
        return keys


async def _mint(http: aiohttp.ClientSession, urls: SandboxUrls, **body: Any) -> dict[str, Any]:
    status, minted = await _post(http, f"{urls.identity}/_sandbox/tokens", body)
    assert status == 200, minted
    return minted


def _verified(token: str, jwks: dict[str, Any]) -> dict[str, Any]:
    kid = jwt.get_unverified_header(token)["kid"]
    key = jwt.PyJWKSet.from_dict(jwks)[kid]
    claims: dict[str, Any] = jwt.decode(token, key, algorithms=["RS256"], audience=SANDBOX_AUDIENCE)
    return claims


async def test_a_minted_token_verifies_with_the_published_key_and_carries_what_was_asked(
    fresh_sandbox: SandboxUrls, http: aiohttp.ClientSession
) -> None:
    minted = await _mint(http, fresh_sandbox, sub="user-9", scopes=["users:write", "pii:read"], ttl_s=120)
    claims = _verified(minted["access_token"], await _jwks(http, fresh_sandbox))

    assert (minted["token_type"], minted["expires_in"], minted["scope"]) == ("Bearer", 120, "users:write pii:read")
    assert (claims["iss"], claims["aud"], claims["sub"]) == (SANDBOX_ISSUER, SANDBOX_AUDIENCE, "user-9")
    assert claims["scope"] == "users:write pii:read"
    assert claims["exp"] - claims["iat"] == 120
    assert abs(claims["iat"] - time.time()) < 60


async def test_claims_can_be_overridden_to_mint_tokens_a_gateway_must_refuse(
    fresh_sandbox: SandboxUrls, http: aiohttp.ClientSession
) -> None:
    minted = await _mint(http, fresh_sandbox, client_id="reports", claims={"aud": "someone-else", "exp": 1})
    claims = jwt.decode(minted["access_token"], options={"verify_signature": False})
    assert (claims["aud"], claims["exp"], claims["client_id"]) == ("someone-else", 1, "reports")


async def test_the_jwks_publishes_public_signing_keys_only(
    fresh_sandbox: SandboxUrls, http: aiohttp.ClientSession
) -> None:
    (key,) = (await _jwks(http, fresh_sandbox))["keys"]
    assert (key["kty"], key["alg"], key["use"]) == ("RSA", "RS256", "sig")
    assert key["kid"]
    assert not {"d", "p", "q", "dp", "dq", "qi"} & set(key)


async def test_discovery_names_the_issuer_and_the_jwks(fresh_sandbox: SandboxUrls, http: aiohttp.ClientSession) -> None:
    async with http.get(f"{fresh_sandbox.identity}/.well-known/openid-configuration") as response:
        document = await response.json()
    assert document["issuer"] == SANDBOX_ISSUER
    assert document["jwks_uri"] == f"{fresh_sandbox.identity}{JWKS_PATH}"
    assert document["id_token_signing_alg_values_supported"] == ["RS256"]


async def test_rotation_signs_with_a_new_key_and_keeps_or_retires_the_old_one(
    fresh_sandbox: SandboxUrls, http: aiohttp.ClientSession
) -> None:
    rotate = f"{fresh_sandbox.identity}/_sandbox/rotate-signing-key"
    first = (await _mint(http, fresh_sandbox))["kid"]

    status, kept = await _post(http, rotate, {})
    assert status == 200
    assert kept["published"] == [kept["kid"], first]
    assert (await _mint(http, fresh_sandbox))["kid"] == kept["kid"]

    status, retired = await _post(http, rotate, {"keep_previous": False})
    assert status == 200
    assert retired["published"] == [retired["kid"]]
    assert [key["kid"] for key in (await _jwks(http, fresh_sandbox))["keys"]] == [retired["kid"]]

    async with http.post(f"{fresh_sandbox.identity}/_sandbox/reset") as response:
        assert response.status == 200
    assert [key["kid"] for key in (await _jwks(http, fresh_sandbox))["keys"]] == [first]


@pytest.mark.parametrize(
    "body",
    [{"ttl_s": 0}, {"scopes": "pii:read"}, {"sub": ""}, {"unknown": 1}, [1], {"claims": {"iss": ["a"]}}],
    ids=repr,
)
async def test_a_malformed_token_request_is_400(
    fresh_sandbox: SandboxUrls, http: aiohttp.ClientSession, body: object
) -> None:
    status, answer = await _post(http, f"{fresh_sandbox.identity}/_sandbox/tokens", body)
    assert status == 400
    assert answer["error"]["code"] == "invalid_request"


async def test_the_jwks_is_counted_and_only_faulted_when_a_fault_names_it(
    fresh_sandbox: SandboxUrls, http: aiohttp.ClientSession
) -> None:
    faults = f"{fresh_sandbox.identity}/_sandbox/faults"
    assert (await _post(http, faults, {"error_rate": 1.0, "status": 503}))[0] == 200
    await _jwks(http, fresh_sandbox)

    assert (await _post(http, faults, {"error_rate": 1.0, "status": 503, "routes": [f"GET {JWKS_PATH}"]}))[0] == 200
    async with http.get(f"{fresh_sandbox.identity}{JWKS_PATH}") as response:
        assert response.status == 503

    async with http.get(f"{fresh_sandbox.identity}/_sandbox/stats") as response:
        assert (await response.json())["routes"][f"GET {JWKS_PATH}"] == 2
