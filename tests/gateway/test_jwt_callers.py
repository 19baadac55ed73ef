"""Callers identified by JWTs the sandbox identity provider signs, verified by the gateway against its
JWKS over loopback: what is accepted, what is refused and why, and what a token's scopes unlock."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import orjson
import pytest
from harness import ADMIN_HEADERS, Gateway, Sandbox
from jwt_support import Refusal, b64url, hmac_with_public_key, post_with, unsigned_token, with_claims_replaced

from mobius.demo import DEMO_CALLER_SCOPES, token_command
from sandbox import JWKS_PATH

VIEWER = "{ viewer { id email } }"


async def _signing_key(sandbox: Sandbox) -> dict[str, Any]:
    async with sandbox.http.get(f"{sandbox.url('identity')}{JWKS_PATH}") as response:
        key: dict[str, Any] = (await response.json())["keys"][0]
        return key


async def _refusal(gateway: Gateway, token: str) -> Refusal:
    answer = await post_with(gateway.http, gateway.url, f"Bearer {token}")
    assert isinstance(answer, Refusal), answer
    return answer


async def test_a_signed_token_is_the_caller_it_names_with_its_scopes(gateway: Gateway, sandbox: Sandbox) -> None:
    token = await sandbox.mint_token(sub="user-9", scopes=["pii:read"])

    answer = await post_with(gateway.http, gateway.url, f"Bearer {token}", VIEWER)

    assert "errors" not in answer
    assert answer["data"]["viewer"]["id"] == "user-9"
    assert "@" in answer["data"]["viewer"]["email"]


async def test_a_token_without_the_pii_scope_reads_no_pii(gateway: Gateway, sandbox: Sandbox) -> None:
    token = await sandbox.mint_token(sub="user-9", scopes=["users:write"])

    answer = await post_with(gateway.http, gateway.url, f"Bearer {token}", VIEWER)

    assert answer["data"]["viewer"] == {"id": "user-9", "email": None}
    assert [error["extensions"]["code"] for error in answer["errors"]] == ["FORBIDDEN"]
    assert "pii:read" in answer["errors"][0]["message"]


@pytest.mark.parametrize(
    ("claims", "reason"),
    [
        # times from when the test runs: read at collection, a `nbf` 600 s ahead had passed by the
        # time a loaded suite reached the test
        (lambda now: {"exp": now - 600}, "expired"),
        (lambda now: {"nbf": now + 600}, "not valid yet"),
        (lambda now: {"aud": "another-api"}, "audience"),
        (lambda now: {"iss": "https://impostor.example"}, "issuer"),
    ],
    ids=["expired", "not-yet-valid", "wrong-audience", "wrong-issuer"],
)
async def test_a_token_outside_its_validity_or_for_someone_else_is_401(
    gateway: Gateway, sandbox: Sandbox, claims: Callable[[int], dict[str, Any]], reason: str
) -> None:
    refusal = await _refusal(gateway, await sandbox.mint_token(claims=claims(int(time.time()))))

    assert refusal.status == 401
    assert 'error="invalid_token"' in refusal.www_authenticate
    assert reason in refusal.www_authenticate
    assert reason in refusal.body


async def test_leeway_forgives_a_little_clock_skew(gateway: Gateway, sandbox: Sandbox) -> None:
    token = await sandbox.mint_token(claims={"exp": int(time.time()) - 5})
    answer = await post_with(gateway.http, gateway.url, f"Bearer {token}", "{ viewer { id } }")
    assert answer["data"]["viewer"] == {"id": "user-1"}


async def test_alg_none_is_refused(gateway: Gateway, sandbox: Sandbox) -> None:
    refusal = await _refusal(gateway, unsigned_token((await _signing_key(sandbox))["kid"]))
    assert refusal.status == 401
    assert "algorithm is not accepted" in refusal.www_authenticate


async def test_hs256_signed_with_the_public_key_is_refused(gateway: Gateway, sandbox: Sandbox) -> None:
    refusal = await _refusal(gateway, hmac_with_public_key(await _signing_key(sandbox)))
    assert refusal.status == 401
    assert "algorithm is not accepted" in refusal.www_authenticate


async def test_a_tampered_token_is_refused(gateway: Gateway, sandbox: Sandbox) -> None:
    token = await sandbox.mint_token(scopes=["pii:read"])
    refusal = await _refusal(gateway, with_claims_replaced(token, scope="pii:read users:write cache:admin"))
    assert refusal.status == 401
    assert "signature is invalid" in refusal.www_authenticate


async def test_a_token_signed_by_an_unknown_key_is_refused(gateway: Gateway, sandbox: Sandbox) -> None:
    _, payload, signature = (await sandbox.mint_token()).split(".")
    header = b64url(orjson.dumps({"alg": "RS256", "typ": "JWT", "kid": "made-up-key"}))
    refusal = await _refusal(gateway, f"{header}.{payload}.{signature}")
    assert refusal.status == 401
    assert "signing key is unknown" in refusal.www_authenticate


@pytest.mark.parametrize(
    ("authorization", "error"),
    [
        ("Bearer not-a-known-key", "invalid_token"),
        ("Bearer a.b.c", "invalid_token"),
        ("Bearer " + "x" * 9000 + ".y.z", "invalid_token"),
        ("Basic dXNlcjpwYXNz", "invalid_request"),
        ("Bearer", "invalid_request"),
    ],
    ids=["unknown-key", "not-a-jwt", "oversized", "basic", "no-token"],
)
async def test_every_refused_credential_is_a_401_with_a_bearer_challenge(
    gateway: Gateway, authorization: str, error: str
) -> None:
    refusal = await post_with(gateway.http, gateway.url, authorization)
    assert isinstance(refusal, Refusal)
    assert refusal.status == 401
    assert refusal.www_authenticate.startswith(f'Bearer error="{error}"')


async def test_a_refused_token_over_get_is_a_401_too(gateway: Gateway, sandbox: Sandbox) -> None:
    token = await sandbox.mint_token(claims={"exp": int(time.time()) - 600})
    headers = {"Authorization": f"Bearer {token}"}
    async with gateway.http.get(f"{gateway.url}/graphql", params={"query": "{ __typename }"}, headers=headers) as got:
        assert got.status == 401
        assert "expired" in got.headers["WWW-Authenticate"]


async def test_the_static_api_key_still_identifies_its_service(gateway: Gateway) -> None:
    assert (await gateway.query("{ viewer { id } }", headers=ADMIN_HEADERS))["data"]["viewer"] == {"id": "user-1"}


async def test_cache_invalidation_accepts_a_jwt_caller_with_the_admin_scope(gateway: Gateway, sandbox: Sandbox) -> None:
    url = f"{gateway.url}/admin/cache/invalidate"
    for scopes, status in ((["cache:admin"], 200), (["pii:read"], 403)):
        headers = {"Authorization": f"Bearer {await sandbox.mint_token(scopes=scopes)}"}
        async with gateway.http.post(url, json={"tags": ["org:org-1"]}, headers=headers) as response:
            assert response.status == status, scopes
    expired = await sandbox.mint_token(scopes=["cache:admin"], claims={"exp": int(time.time()) - 600})
    async with gateway.http.post(url, json={"all": True}, headers={"Authorization": f"Bearer {expired}"}) as response:
        assert response.status == 401
        assert "expired" in response.headers["WWW-Authenticate"]


async def test_the_token_the_demo_says_how_to_get_carries_the_demo_callers_scopes(
    gateway: Gateway, sandbox: Sandbox
) -> None:
    command = token_command(sandbox.urls)
    assert command.startswith(f"curl -s -X POST {sandbox.url('identity')}/_sandbox/tokens ")
    body = json.loads(command.split(" -d '", 1)[1].removesuffix("'"))

    token = await sandbox.mint_token(**body)

    answer = await post_with(gateway.http, gateway.url, f"Bearer {token}", VIEWER)
    assert "errors" not in answer
    assert set(body["scopes"]) == set(DEMO_CALLER_SCOPES)
