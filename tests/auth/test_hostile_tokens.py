"""Whatever a client puts in `Authorization`, identification answers a caller or a refusal with a
reason, never another error, and reads nothing past its length caps. Inputs are generated
(seeded) from the shapes an attacker would try; signed ones come from the real sandbox provider."""

from __future__ import annotations

import json
import random
import string
from pathlib import Path
from typing import Any

import orjson
import pytest
from harness import Sandbox
from jwt_support import b64url

from mobius.auth.jwks import JwksFile
from mobius.auth.tokens import JwtVerifier
from mobius.callers import MAX_AUTHORIZATION_CHARS, CallerRegistry, UnknownCaller
from mobius.settings import JwtSettings
from sandbox import JWKS_PATH, SANDBOX_AUDIENCE, SANDBOX_ISSUER

ODD_VALUES: list[Any] = [
    None,
    True,
    0,
    -1,
    2**70,
    1e308,
    "",
    "x" * 300,
    [],
    ["RS256"],
    {},
    {"alg": "RS256"},
    "RS256 ",
    "none",
    "HS256",
    "\u0000",
]


async def registry(sandbox: Sandbox, tmp_path: Path) -> CallerRegistry:
    async with sandbox.http.get(f"{sandbox.url('identity')}{JWKS_PATH}") as response:
        (tmp_path / "jwks.json").write_bytes(await response.read())
    settings = JwtSettings(
        jwks_file=tmp_path / "jwks.json", issuer=SANDBOX_ISSUER, audiences=[SANDBOX_AUDIENCE], algorithms=["RS256"]
    )
    return CallerRegistry([], JwtVerifier(settings, JwksFile(tmp_path / "jwks.json", max_bytes=65536)))


def garbage(rng: random.Random, kid: str) -> str:
    """A compact-JWS-shaped string with odd headers, odd payloads and broken encodings."""
    header: Any = {"alg": rng.choice([*ODD_VALUES, "RS256"]), "kid": rng.choice([*ODD_VALUES, kid])}
    if rng.random() < 0.2:
        header = rng.choice(ODD_VALUES)
    payload: Any = {claim: rng.choice(ODD_VALUES) for claim in rng.sample(["exp", "iss", "aud", "sub", "scope"], 3)}
    encoded = [json.dumps(part).encode() for part in (header, payload)]  # json: orjson refuses 2**70
    parts = [*map(b64url, encoded), b64url(rng.randbytes(rng.randint(0, 300)))]
    mangle = rng.random()
    if mangle < 0.2:
        parts[rng.randrange(3)] = "".join(rng.choices(string.printable, k=rng.randint(0, 200)))
    elif mangle < 0.3:
        parts.append("extra")
    elif mangle < 0.4:
        parts[0] += "=" * rng.randint(1, 5)
    return ".".join(parts)


async def test_generated_garbage_tokens_are_refused_with_a_reason(sandbox: Sandbox, tmp_path: Path) -> None:
    callers = await registry(sandbox, tmp_path)
    kid = orjson.loads((tmp_path / "jwks.json").read_bytes())["keys"][0]["kid"]
    rng = random.Random(12)
    for _ in range(2000):
        token = garbage(rng, kid)
        with pytest.raises(UnknownCaller) as refused:
            await callers.identify(f"Bearer {token}")
        assert refused.value.status == 401
        assert refused.value.reason.startswith(("the token", "unknown bearer token")), token


@pytest.mark.parametrize(
    "claims",
    [
        {"exp": 2**70},
        {"exp": "99999999999"},
        {"exp": 1e308},
        {"aud": [SANDBOX_AUDIENCE, {"x": 1}]},
        {"aud": {"x": 1}},
        {"iss": SANDBOX_ISSUER + "/"},
        {"scope": {"pii:read": True}},
        {"scope": ["pii:read", ["users:write"], None]},
        {"sub": 42, "client_id": ["a"], "azp": None},
        {"nbf": "soon"},
        {"iat": []},
    ],
    ids=repr,
)
async def test_signed_tokens_with_odd_claims_make_a_caller_or_a_refusal(
    sandbox: Sandbox, tmp_path: Path, claims: dict[str, Any]
) -> None:
    callers = await registry(sandbox, tmp_path)
    token = await sandbox.mint_token(claims=claims)
    refusal = None
    try:
        caller = await callers.identify(f"Bearer {token}")
    except UnknownCaller as refused:
        refusal = refused
    if refusal is not None:
        assert (refusal.status, refusal.reason.startswith("the token")) == (401, True)
    else:
        assert caller.authenticated
        assert all(isinstance(scope, str) for scope in caller.scopes)
        assert caller.user_id is None or isinstance(caller.user_id, str)


async def test_oversized_credentials_are_refused_unread(sandbox: Sandbox, tmp_path: Path) -> None:
    callers = await registry(sandbox, tmp_path)
    for size, reason in (
        (8193, "the token is too long"),
        (MAX_AUTHORIZATION_CHARS - 20, "the token is too long"),
        (MAX_AUTHORIZATION_CHARS, "the Authorization header is too long"),
        (1_000_000, "the Authorization header is too long"),
    ):
        with pytest.raises(UnknownCaller) as refused:
            await callers.identify(f"Bearer {'a' * size}.b.c")
        assert refused.value.reason == reason
