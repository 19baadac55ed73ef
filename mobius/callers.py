"""Identifies the gateway's callers from the ``Authorization`` header: a static API key (``callers``,
for services) or a JWT verified against the identity provider's keys (``auth.jwt``).

The one entry point is ``CallerRegistry.identify``: no header is the anonymous caller; a credential
that is presented and refused raises ``UnknownCaller``, which carries what the HTTP answer needs
(``status``, ``code``, ``reason`` and the ``WWW-Authenticate`` value of RFC 6750).
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Protocol

from clients.secrets import SecretSource, SecretUnavailable
from mobius.auth.errors import KeysUnavailable, TokenRefused
from mobius.settings import Settings
from mobius.upstreams import secret_source
from schema.context import Caller

if TYPE_CHECKING:
    from mobius.auth.tokens import JwtVerifier

ANONYMOUS = Caller()
MAX_AUTHORIZATION_CHARS = 65_536
"""Longer headers are refused before anything looks at them (JWTs are capped lower by settings)."""


class UnknownCaller(Exception):
    """A credential was presented and refused: answer ``status`` (401) with ``www_authenticate``."""

    status = 401
    code = "UNAUTHENTICATED"

    def __init__(self, reason: str = "unknown bearer token", *, error: str = "invalid_token") -> None:
        super().__init__(reason)
        self.reason = reason
        self.error = error
        """RFC 6750's error code: ``invalid_token`` or ``invalid_request`` (a malformed header)."""

    @property
    def www_authenticate(self) -> str:
        return f'Bearer error="{self.error}", error_description="{self.reason}"'


class CallerUnverifiable(UnknownCaller):
    """A token was presented but the identity provider's keys cannot be had to verify it: the
    gateway's problem, not the caller's (503)."""

    status = 503
    code = "IDENTITY_PROVIDER_UNAVAILABLE"


class CallerIdentity(Protocol):
    """How the request path learns who is asking (``CallerRegistry`` is the gateway's)."""

    async def identify(self, authorization: str | None) -> Caller:
        """The caller an ``Authorization`` header names: anonymous without one; ``UnknownCaller``
        for a credential that is refused."""
        ...


class CallerRegistry:
    def __init__(self, api_keys: Sequence[tuple[Caller, SecretSource]], jwt: JwtVerifier | None = None) -> None:
        self._api_keys = tuple(api_keys)
        self._jwt = jwt

    async def identify(self, authorization: str | None) -> Caller:
        if not authorization:
            return ANONYMOUS
        if len(authorization) > MAX_AUTHORIZATION_CHARS:
            raise UnknownCaller("the Authorization header is too long", error="invalid_request")
        scheme, _, token = authorization.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise UnknownCaller("the Authorization header must be `Bearer <token>`", error="invalid_request")
        caller = self._by_api_key(token)
        if caller is not None:
            return caller
        if self._jwt is None or not looks_like_jwt(token):
            raise UnknownCaller
        try:
            return await self._jwt.caller(token)
        except TokenRefused as refused:
            raise UnknownCaller(refused.reason) from None
        except KeysUnavailable:
            raise CallerUnverifiable("the identity provider's signing keys are unavailable") from None

    def _by_api_key(self, token: str) -> Caller | None:
        presented = token.encode()
        found = None
        for caller, secret in self._api_keys:
            try:
                expected = secret.reveal().encode()
            except SecretUnavailable:
                continue  # that caller cannot be recognised until its secret can be read
            if hmac.compare_digest(presented, expected) and found is None:
                found = caller
        return found

    async def start(self) -> None:
        """Load the identity provider's keys ahead of the first token."""
        if self._jwt is not None:
            await self._jwt.keys.start()

    async def close(self) -> None:
        if self._jwt is not None:
            await self._jwt.keys.close()


def build_callers(settings: Settings, *, clock: Callable[[], float] = time.monotonic) -> CallerRegistry:
    """``clock`` (monotonic seconds) times the JWKS cache and its refresh interval."""
    api_keys = [
        (
            Caller(name=caller.name, scopes=frozenset(caller.scopes), user_id=caller.user_id, authenticated=True),
            secret_source(caller.token),
        )
        for caller in settings.callers
    ]
    jwt_settings = settings.auth.jwt
    if jwt_settings is None:
        return CallerRegistry(api_keys)
    # PyJWT and cryptography cost a worker some 10 MB of RSS: loaded only where JWTs are accepted.
    from mobius.auth.jwks import key_source  # noqa: PLC0415
    from mobius.auth.tokens import JwtVerifier  # noqa: PLC0415

    return CallerRegistry(api_keys, JwtVerifier(jwt_settings, key_source(jwt_settings, clock=clock)))


def looks_like_jwt(token: str) -> bool:
    """Three dot-separated parts (a compact JWS), as opposed to an opaque API key."""
    return token.count(".") == 2
