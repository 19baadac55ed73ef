"""Auth as a flow around one request (the httpx model): the flow yields the request to send,
receives the response, and may yield once more (e.g. after refreshing a token on 401).
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import AsyncGenerator, Callable
from typing import Protocol

from clients.messages import OutgoingRequest, RawResponse
from clients.secrets import SecretSource

AuthFlow = AsyncGenerator[OutgoingRequest, RawResponse]


class Auth(Protocol):
    def flow(self, request: OutgoingRequest) -> AuthFlow: ...


class NoAuth:
    async def flow(self, request: OutgoingRequest) -> AuthFlow:
        yield request


class HeaderAuth:
    """A static credential in a header: ``Authorization: Bearer <token>`` or e.g. ``X-Api-Key``."""

    def __init__(self, secret: SecretSource, *, header: str = "Authorization", scheme: str = "Bearer") -> None:
        self._secret = secret
        self._header = header
        self._prefix = f"{scheme} " if scheme else ""

    def apply(self, request: OutgoingRequest) -> None:
        request.headers[self._header] = self._prefix + self._secret.reveal()

    async def flow(self, request: OutgoingRequest) -> AuthFlow:
        self.apply(request)
        yield request


def hmac_signature(secret: str, timestamp: int, request: OutgoingRequest) -> str:
    """hex HMAC-SHA256 of ``t.METHOD.path_qs.sha256(body)``."""
    body_hash = hashlib.sha256(request.body).hexdigest()
    message = f"{timestamp}.{request.method}.{request.path_qs}.{body_hash}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


class HmacSignedAuth:
    """A header credential plus an HMAC signature over the final request.

    The flow runs once per attempt, so a retried request is signed again with a fresh timestamp.
    """

    def __init__(
        self,
        credential: HeaderAuth,
        signing_secret: SecretSource,
        *,
        header: str = "Mobius-Signature",
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._credential = credential
        self._signing_secret = signing_secret
        self._header = header
        self._clock = clock

    async def flow(self, request: OutgoingRequest) -> AuthFlow:
        self._credential.apply(request)
        timestamp = int(self._clock())
        signature = hmac_signature(self._signing_secret.reveal(), timestamp, request)
        request.headers[self._header] = f"t={timestamp},v1={signature}"
        yield request
