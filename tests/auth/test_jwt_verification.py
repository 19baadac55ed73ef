"""JWT verification below HTTP: which keys a JWKS yields, how claims become a caller, what settings
refuse. Tokens and keys come from the real sandbox identity provider."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import orjson
import pytest
from clock import FakeClock
from config_support import offline_upstreams
from harness import Sandbox

from mobius.auth.errors import TokenRefused
from mobius.auth.jwks import InvalidKeySet, JwksFile, parse_key_set
from mobius.auth.tokens import JwtVerifier, scopes_of
from mobius.settings import ConfigError, JwtSettings, load_settings
from sandbox import JWKS_PATH, SANDBOX_AUDIENCE, SANDBOX_ISSUER


async def published_jwks(sandbox: Sandbox) -> dict[str, Any]:
    async with sandbox.http.get(f"{sandbox.url('identity')}{JWKS_PATH}") as response:
        jwks: dict[str, Any] = await response.json()
        return jwks


async def publish(sandbox: Sandbox, tmp_path: Path) -> Path:
    """The provider's JWKS as a file, swapped in by rename."""
    jwks_file, staged = tmp_path / "jwks.json", tmp_path / "staged.json"
    staged.write_bytes(orjson.dumps(await published_jwks(sandbox)))
    staged.replace(jwks_file)
    return jwks_file


async def verifier(
    sandbox: Sandbox, tmp_path: Path, *, wall_clock: FakeClock | None = None, **settings: Any
) -> JwtVerifier:
    jwks_file = await publish(sandbox, tmp_path)
    accepted: dict[str, Any] = {"issuer": SANDBOX_ISSUER, "audiences": [SANDBOX_AUDIENCE], "algorithms": ["RS256"]}
    jwt_settings = JwtSettings(jwks_file=jwks_file, **{**accepted, **settings})
    keys = JwksFile(jwks_file, max_bytes=65536)
    if wall_clock is None:
        return JwtVerifier(jwt_settings, keys)
    return JwtVerifier(jwt_settings, keys, wall_clock=wall_clock)


async def test_claims_named_in_settings_make_the_caller(sandbox: Sandbox, tmp_path: Path) -> None:
    verify = await verifier(sandbox, tmp_path, scopes_claim="scp", user_id_claim="oid", name_claims=["azp"])
    token = await sandbox.mint_token(claims={"scp": ["users:write", "pii:read"], "oid": "user-3", "azp": "reports"})

    caller = await verify.caller(token)

    assert (caller.name, caller.user_id, caller.authenticated) == ("reports", "user-3", True)
    assert caller.scopes == {"users:write", "pii:read"}


async def test_the_name_falls_back_to_the_user_id(sandbox: Sandbox, tmp_path: Path) -> None:
    caller = await (await verifier(sandbox, tmp_path)).caller(await sandbox.mint_token(sub="user-5"))
    assert (caller.name, caller.user_id, caller.scopes) == ("user-5", "user-5", frozenset())

    by_client = await (await verifier(sandbox, tmp_path)).caller(await sandbox.mint_token(client_id="billing-sync"))
    assert by_client.name == "billing-sync"


async def test_a_token_without_expiry_is_refused(sandbox: Sandbox, tmp_path: Path) -> None:
    with pytest.raises(TokenRefused, match="lacks the `exp` claim"):
        await (await verifier(sandbox, tmp_path)).caller(await sandbox.mint_token(claims={"exp": None}))


async def test_an_algorithm_the_settings_do_not_list_is_refused_before_any_key(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    verify = await verifier(sandbox, tmp_path, algorithms=["ES256", "PS256"])
    with pytest.raises(TokenRefused, match="algorithm is not accepted"):
        await verify.caller(await sandbox.mint_token())


async def test_a_verified_token_is_not_trusted_past_its_expiry(sandbox: Sandbox, tmp_path: Path) -> None:
    wall_clock = FakeClock(start=time.time())
    verify = await verifier(sandbox, tmp_path, wall_clock=wall_clock, leeway_s=30)
    token = await sandbox.mint_token(sub="user-2", ttl_s=60)

    for _ in range(3):
        assert (await verify.caller(token)).user_id == "user-2"
    wall_clock.advance(60 + 30)
    with pytest.raises(TokenRefused, match="expired"):
        await verify.caller(token)


async def test_a_verified_token_is_verified_again_once_the_keys_change(sandbox: Sandbox, tmp_path: Path) -> None:
    verify = await verifier(sandbox, tmp_path)
    token = await sandbox.mint_token(sub="user-2")
    assert (await verify.caller(token)).user_id == "user-2"

    await sandbox.admin("identity", "rotate-signing-key", {"keep_previous": False})
    await publish(sandbox, tmp_path)

    with pytest.raises(TokenRefused, match="signing key is unknown"):
        await verify.caller(token)
    assert (await verify.caller(await sandbox.mint_token(sub="user-3"))).user_id == "user-3"


async def test_the_verified_tokens_kept_are_bounded(sandbox: Sandbox, tmp_path: Path) -> None:
    verify = await verifier(sandbox, tmp_path, verified_cache_size=2)
    tokens = [await sandbox.mint_token(sub=f"user-{n}") for n in range(1, 6)]
    for token in tokens:
        await verify.caller(token)
    assert list(verify._verified) == tokens[-2:]


@pytest.mark.parametrize(
    ("value", "scopes"),
    [("a b  c", {"a", "b", "c"}), (["a", "b", 3, ""], {"a", "b"}), (None, set()), ({"a": 1}, set()), (7, set())],
)
def test_scopes_come_from_a_string_or_a_list_and_nothing_else(value: object, scopes: set[str]) -> None:
    assert scopes_of(value) == scopes


def test_only_asymmetric_signing_keys_are_kept_without_their_private_parts() -> None:
    keys = [
        {"kty": "RSA", "kid": "rsa", "n": "AQAB", "e": "AQAB", "d": "secret"},
        {"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"},
        {"kty": "EC", "kid": "enc", "use": "enc", "crv": "P-256", "x": "AA", "y": "AA"},
        {"kty": "EC", "kid": "wrap", "key_ops": ["wrapKey"], "crv": "P-256", "x": "AA", "y": "AA"},
        {"kty": "OKP", "crv": "Ed25519", "x": "AA"},
        "not a key",
    ]
    key_set = parse_key_set(orjson.dumps({"keys": keys}))
    assert set(key_set.by_kid) == {"rsa"}
    assert "d" not in key_set.by_kid["rsa"]
    assert [key["kty"] for key in key_set.unnamed] == ["OKP"]


@pytest.mark.parametrize(
    "document", [b"not json", b"[]", b'{"keys": {}}', b'{"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}'], ids=repr
)
def test_a_document_without_signing_keys_is_refused(document: bytes) -> None:
    with pytest.raises(InvalidKeySet):
        parse_key_set(document)


async def test_a_token_without_kid_needs_a_set_of_one_key_and_made_up_kids_are_not_remembered(
    sandbox: Sandbox,
) -> None:
    (jwk,) = (await published_jwks(sandbox))["keys"]
    single = parse_key_set(orjson.dumps({"keys": [jwk]}))
    double = parse_key_set(orjson.dumps({"keys": [jwk, {**jwk, "kid": "second"}]}))

    assert single.key(None, "RS256") is not None
    assert double.key(None, "RS256") is None
    assert single.key(jwk["kid"], "ES256") is None, "an RSA key never verifies another algorithm"
    for n in range(1000):
        assert single.key(f"made-up-{n}", "RS256") is None
    assert len(single._built) == 2


@pytest.mark.parametrize(
    ("jwt", "problem"),
    [
        ({"algorithms": ["HS256"]}, "algorithms"),
        ({"algorithms": ["none"]}, "algorithms"),
        ({"jwks_file": "/etc/jwks.json"}, "exactly one of `jwks_url` or `jwks_file`"),
        ({"jwks_url": None}, "exactly one of `jwks_url` or `jwks_file`"),
        ({"jwks_url": "file:///etc/jwks.json"}, "http(s) URL"),
        ({"audiences": []}, "audiences"),
    ],
)
def test_settings_refuse_symmetric_algorithms_and_ambiguous_key_sources(jwt: dict[str, Any], problem: str) -> None:
    base = {"jwks_url": "https://idp.example/jwks.json", "issuer": "https://idp.example", "audiences": ["mobius"]}
    upstreams = offline_upstreams("http://x")
    with pytest.raises(ConfigError, match=r"auth\.jwt") as refused:
        load_settings(upstreams=upstreams, auth={"jwt": {**base, **jwt}})
    assert problem in str(refused.value)


def test_production_fetches_signing_keys_over_tls_only() -> None:
    upstreams = offline_upstreams("http://x")
    jwt = {"issuer": "https://idp.example", "audiences": ["mobius"]}
    plain = {**jwt, "jwks_url": "http://idp.example/jwks.json"}
    with pytest.raises(ConfigError, match="must be https:// in production"):
        load_settings(environment="production", upstreams=upstreams, auth={"jwt": plain})
    load_settings(environment="development", upstreams=upstreams, auth={"jwt": plain})
    load_settings(environment="production", upstreams=upstreams, auth={"jwt": {**jwt, "jwks_url": "https://idp/jwks"}})
