"""A JWT bearer token verified into a ``Caller``: signature by a key of the provider's JWKS, then
issuer, audience and validity times (with leeway); scopes, user id and name read from claims.

Only the configured asymmetric algorithms are accepted, and the key verifying a token is bound to
that algorithm (``PyJWK``): ``alg: none`` and a token HMAC-signed with the public key (algorithm
confusion) are refused before any key is looked at. Tokens longer than ``max_token_bytes`` are
refused unread.

Verifying costs about 0.2 ms of CPU (mostly PyJWT's checks of the base64 text), more than answering
``{ __typename }``, and a client sends the same token with every request for its lifetime. So the
callers of the last ``verified_cache_size`` tokens verified are kept, by the exact token text,
until the token expires or the provider's keys change, whichever comes first; a token that fails
verification is never kept.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

import jwt
from jwt import PyJWK
from jwt.exceptions import (
    ExpiredSignatureError,
    ImmatureSignatureError,
    InvalidAlgorithmError,
    InvalidAudienceError,
    InvalidIssuedAtError,
    InvalidIssuerError,
    InvalidKeyError,
    InvalidSignatureError,
    InvalidTokenError,
    MissingRequiredClaimError,
)

from mobius.auth.errors import TokenRefused
from mobius.auth.jwks import KeySet, KeySource
from mobius.settings import JwtSettings
from schema.context import Caller

REQUIRED_CLAIMS = ("exp", "iss", "aud")
_REFUSALS: tuple[tuple[type[Exception], str], ...] = (
    (ExpiredSignatureError, "the token has expired"),
    (ImmatureSignatureError, "the token is not valid yet"),
    (InvalidIssuedAtError, "the token's issue time is invalid"),
    (InvalidAudienceError, "the token's audience is not accepted"),
    (InvalidIssuerError, "the token's issuer is not trusted"),
    (InvalidSignatureError, "the token's signature is invalid"),
    (InvalidAlgorithmError, "the token's algorithm is not accepted"),
    (InvalidKeyError, "the token's signing key is not usable"),
)
"""Most specific first; each reason is a fixed text (never token content), fit for a client."""


class _Verified(NamedTuple):
    caller: Caller
    not_after: float
    """Wall-clock seconds: the token's ``exp`` plus the leeway."""
    keys: KeySet
    """The keys it was verified with: another set (a refetch) means verifying again."""


class JwtVerifier:
    def __init__(self, settings: JwtSettings, keys: KeySource, *, wall_clock: Callable[[], float] = time.time) -> None:
        """``wall_clock`` (seconds since the epoch) judges expiry; PyJWT checks it too, on the system clock."""
        self.keys = keys
        self._settings = settings
        self._algorithms = frozenset(settings.algorithms)
        self._decoder = jwt.PyJWT(options={"require": list(REQUIRED_CLAIMS), "enforce_minimum_key_length": True})
        self._wall_clock = wall_clock
        self._verified: dict[str, _Verified] = {}

    async def caller(self, token: str) -> Caller:
        """The caller the token names; raises ``TokenRefused``, or ``KeysUnavailable`` when the
        provider's keys cannot be had."""
        settings = self._settings
        if len(token) > settings.max_token_bytes:
            raise TokenRefused("the token is too long")
        keys = await self.keys.current()
        verified = self._verified.get(token)
        if verified is not None:
            if verified.keys is keys and self._wall_clock() < verified.not_after:
                return verified.caller
            del self._verified[token]
        algorithm, kid = self._header(token)
        key = keys.key(kid, algorithm)
        if key is None:
            keys = await self.keys.after_unknown_key()
            key = keys.key(kid, algorithm)
        if key is None:
            raise TokenRefused("the token's signing key is unknown")
        claims = self._claims(token, key, algorithm)
        not_after = _seconds(claims["exp"]) + settings.leeway_s
        if self._wall_clock() >= not_after:
            raise TokenRefused("the token has expired")
        caller = self._caller_of(claims)
        self._remember(token, _Verified(caller, not_after, keys))
        return caller

    def _remember(self, token: str, verified: _Verified) -> None:
        size = self._settings.verified_cache_size
        if size == 0:
            return
        if len(self._verified) >= size:
            del self._verified[next(iter(self._verified))]  # the oldest kept
        self._verified[token] = verified

    def _claims(self, token: str, key: PyJWK, algorithm: str) -> dict[str, Any]:
        settings = self._settings
        try:
            claims = self._decoder.decode(
                token,
                key,
                algorithms=[algorithm],
                audience=settings.audiences,
                issuer=settings.issuer,
                leeway=settings.leeway_s,
            )
        except MissingRequiredClaimError as exc:
            raise TokenRefused(f"the token lacks the `{exc.claim}` claim") from None
        except (InvalidTokenError, InvalidKeyError) as exc:
            raise TokenRefused(_reason(exc)) from None
        return claims

    def _header(self, token: str) -> tuple[str, str | None]:
        try:
            header = jwt.get_unverified_header(token)
        except InvalidTokenError:
            raise TokenRefused("the token is malformed") from None
        algorithm, kid = header.get("alg"), header.get("kid")
        if not isinstance(algorithm, str) or algorithm not in self._algorithms:
            raise TokenRefused("the token's algorithm is not accepted")
        if kid is not None and not isinstance(kid, str):
            raise TokenRefused("the token is malformed")
        return algorithm, kid

    def _caller_of(self, claims: Mapping[str, Any]) -> Caller:
        settings = self._settings
        user_id = claims.get(settings.user_id_claim)
        user_id = user_id if isinstance(user_id, str) and user_id else None
        name = next(
            (value for claim in settings.name_claims if isinstance(value := claims.get(claim), str) and value),
            user_id or "jwt",
        )
        return Caller(
            name=name, scopes=scopes_of(claims.get(settings.scopes_claim)), user_id=user_id, authenticated=True
        )


def scopes_of(value: object) -> frozenset[str]:
    """``"a b c"`` (OAuth 2's ``scope``) or ``["a", "b"]`` (``scp``, ``scopes``); anything else grants none."""
    if isinstance(value, str):
        return frozenset(value.split())
    if isinstance(value, list):
        return frozenset(item for item in value if isinstance(item, str) and item)
    return frozenset()


def _seconds(exp: Any) -> float:
    """``exp`` as PyJWT accepted it (anything ``int()`` takes); one too large for a float never ends."""
    try:
        return float(int(exp))
    except OverflowError:
        return math.inf


def _reason(exc: Exception) -> str:
    for kind, reason in _REFUSALS:
        if isinstance(exc, kind):
            return reason
    return "the token is malformed"
