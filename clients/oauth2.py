"""OAuth2 client credentials: one token shared by all calls, fetched once, refreshed early.

Concurrent callers that need a token wait on one fetch (single flight). A 401 drops the token
only if it is still the one that failed, so a burst of 401s causes one refresh, then one replay.
"""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal
from urllib.parse import quote_plus

import aiohttp
import orjson
from pydantic import BaseModel, ValidationError

from clients.auth import AuthFlow
from clients.errors import UpstreamAuthFailed, UpstreamTimeout, UpstreamUnavailable, error_for_status
from clients.messages import OutgoingRequest
from clients.secrets import SecretSource


def encode_basic(client_id: str, client_secret: str) -> str:
    """RFC 6749 §2.3.1: both parts form-urlencoded before base64."""
    raw = f"{quote_plus(client_id)}:{quote_plus(client_secret)}".encode()
    return "Basic " + base64.b64encode(raw).decode("ascii")


class _TokenResponse(BaseModel):
    access_token: str
    token_type: str = "Bearer"  # noqa: S105  (a token type, not a credential)
    expires_in: float = 3600


@dataclass(frozen=True, slots=True)
class _Token:
    value: str
    refresh_at: float


class OAuth2ClientCredentials:
    def __init__(
        self,
        *,
        upstream: str,
        token_url: str,
        client_id: str,
        client_secret: SecretSource,
        scope: str | None = None,
        audience: str | None = None,
        client_auth: Literal["client_secret_basic", "client_secret_post"] = "client_secret_basic",
        refresh_ratio: float = 0.8,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._upstream = upstream
        self._token_url = token_url
        self._client_id = client_id
        self._client_secret = client_secret
        self._scope = scope
        self._audience = audience
        self._client_auth = client_auth
        self._refresh_ratio = refresh_ratio
        self._clock = clock
        self._token: _Token | None = None
        self._lock = asyncio.Lock()
        self._session: aiohttp.ClientSession | None = None
        self.token_requests = 0

    def attach(self, session: aiohttp.ClientSession) -> None:
        """Use the upstream's long-lived session for token requests."""
        self._session = session

    async def flow(self, request: OutgoingRequest) -> AuthFlow:
        token = await self._current_token()
        request.headers["Authorization"] = f"Bearer {token.value}"
        response = yield request
        if response.status == 401:
            self._drop(token)
            token = await self._current_token()
            request.headers["Authorization"] = f"Bearer {token.value}"
            yield request

    def _drop(self, failed: _Token) -> None:
        if self._token is failed:
            self._token = None

    async def _current_token(self) -> _Token:
        token = self._token
        if token is not None and self._clock() < token.refresh_at:
            return token
        async with self._lock:
            token = self._token
            if token is None or self._clock() >= token.refresh_at:
                token = await self._fetch()
                self._token = token
            return token

    async def _fetch(self) -> _Token:
        if self._session is None:
            raise UpstreamAuthFailed("token endpoint used before start", upstream=self._upstream)
        form = {"grant_type": "client_credentials"}
        if self._scope:
            form["scope"] = self._scope
        if self._audience:
            form["audience"] = self._audience
        headers = {"Accept": "application/json"}
        if self._client_auth == "client_secret_basic":
            headers["Authorization"] = encode_basic(self._client_id, self._client_secret.reveal())
        else:
            form["client_id"] = self._client_id
            form["client_secret"] = self._client_secret.reveal()
        started = self._clock()
        self.token_requests += 1
        try:
            async with self._session.post(self._token_url, data=form, headers=headers) as response:
                body = await response.read()
                status = response.status
        except TimeoutError:
            raise UpstreamTimeout("token endpoint did not answer in time", upstream=self._upstream) from None
        except aiohttp.ClientError as exc:
            raise UpstreamUnavailable(
                f"token endpoint unreachable ({type(exc).__name__})", upstream=self._upstream
            ) from None
        if status == 429 or status >= 500:
            raise error_for_status(status, upstream=self._upstream)
        if status != 200:
            raise UpstreamAuthFailed(f"token endpoint refused the client ({status})", upstream=self._upstream)
        try:
            parsed = _TokenResponse.model_validate(orjson.loads(body))
        except (orjson.JSONDecodeError, ValidationError):
            raise UpstreamAuthFailed("token endpoint answered an invalid body", upstream=self._upstream) from None
        return _Token(parsed.access_token, started + parsed.expires_in * self._refresh_ratio)
