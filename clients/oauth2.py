"""OAuth2 client credentials: one token per replica, fetched once, refreshed early.

Concurrent callers that need a token share one fetch (single flight): they all await the same
task and get its token or its error, so a burst never queues up token requests one after another.
A 401 drops the token only if it is still the one that failed, so a burst of 401s causes one
refresh, then one replay each. A token past its refresh point but not yet expired is still used
when the refresh fails. The token lives in this object only (never in Redis or a log): every
replica fetches its own, one token request per replica per token lifetime.
"""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import quote_plus

import aiohttp
import orjson
from pydantic import BaseModel, ValidationError

from clients.call_records import answered
from clients.errors import (
    TokenEndpointUnavailable,
    UpstreamAuthFailed,
    UpstreamError,
    UpstreamInvalidResponse,
    error_for_status,
    map_transport_errors,
)
from clients.instruments import UpstreamInstruments
from clients.messages import OutgoingRequest, RawResponse
from clients.resilience.pipeline import Pipeline
from clients.resilience.ratelimit_headers import parse_retry_after
from clients.secrets import SecretSource, SecretUnavailable, rotated
from clients.spans import inject


def encode_basic(client_id: str, client_secret: str) -> str:
    """RFC 6749 §2.3.1: both parts form-urlencoded before base64."""
    raw = f"{quote_plus(client_id)}:{quote_plus(client_secret)}".encode()
    return "Basic " + base64.b64encode(raw).decode("ascii")


class _TokenResponse(BaseModel):
    access_token: str
    token_type: str = "Bearer"  # noqa: S105  (a token type, not a credential)
    expires_in: float = 3600


@dataclass(frozen=True, slots=True)
class AccessToken:
    """A token and when to refresh it / when it expires, in the injected clock's seconds."""

    value: str = field(repr=False)
    refresh_at: float
    expires_at: float


def _retrieve(task: asyncio.Task[AccessToken]) -> None:
    """Every waiter may have gone (its own timeout); the failure is remembered, not lost in a warning."""
    if not task.cancelled():
        task.exception()


@dataclass(frozen=True, slots=True)
class _Failure:
    error: UpstreamAuthFailed
    until: float


class ClientRefused(UpstreamAuthFailed):
    """The token endpoint refused our client (4xx): a rotated client secret may be the cause."""


TOKEN_ROUTE = "POST token"  # noqa: S105  # a route name, not a credential
"""The token endpoint's calls in metrics and traces (its URL is configured, not declared)."""


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
        guard: Pipeline | None = None,
        failure_cooldown_s: float = 1.0,
    ) -> None:
        """``guard`` is the token endpoint's own resilience pipeline (timeout, retry, breaker);
        a failed token request is answered from memory for ``failure_cooldown_s`` (or the
        endpoint's ``Retry-After``), so a burst of callers costs one request, not one each."""
        self._upstream = upstream
        self._token_url = token_url
        self._client_id = client_id
        self._client_secret = client_secret
        self._scope = scope
        self._audience = audience
        self._client_auth = client_auth
        self._refresh_ratio = refresh_ratio
        self._clock = clock
        self._guard = guard
        self._failure_cooldown_s = failure_cooldown_s
        self._failure: _Failure | None = None
        self._token: AccessToken | None = None
        self._inflight: asyncio.Task[AccessToken] | None = None
        self._session: aiohttp.ClientSession | None = None
        self.token_requests = 0
        self._metrics = UpstreamInstruments(upstream)

    def attach(self, session: aiohttp.ClientSession) -> None:
        """Use the upstream's long-lived session (and so its timeouts) for token requests."""
        self._session = session

    def apply(self, request: OutgoingRequest) -> AccessToken | None:
        """The token held, if it is not yet due for a refresh; else ``None`` (``prepare`` gets one)."""
        token = self._token
        if token is None or self._clock() >= token.refresh_at:
            return None
        request.headers["Authorization"] = f"Bearer {token.value}"
        return token

    async def prepare(self, request: OutgoingRequest) -> AccessToken:
        token = await self._current_token()
        request.headers["Authorization"] = f"Bearer {token.value}"
        return token

    async def refused(self, request: OutgoingRequest, response: RawResponse, used: AccessToken) -> bool:
        """A 401 drops the token that failed; the request is sent once more with the next one."""
        self._drop(used)
        await self.prepare(request)
        return True

    def _drop(self, failed: AccessToken) -> None:
        if self._token is failed:
            self._token = None

    async def _current_token(self) -> AccessToken:
        token = self._token
        now = self._clock()
        if token is not None and now < token.refresh_at:
            return token
        try:
            if self._failure is not None and now < self._failure.until:
                raise self._failure.error.with_traceback(None)
            if self._inflight is None:
                self._inflight = asyncio.create_task(self._refresh())
                self._inflight.add_done_callback(_retrieve)
            return await asyncio.shield(self._inflight)
        except UpstreamAuthFailed:
            if token is not None and self._clock() < token.expires_at:
                return token
            raise

    async def _refresh(self) -> AccessToken:
        try:
            used = self._client_secret.reveal()
            try:
                token = await self._guarded_request()
            except ClientRefused:
                if not await rotated([self._client_secret], [used]):
                    raise
                token = await self._guarded_request()
            self._token = token
            self._failure = None
            return token
        except SecretUnavailable:
            raise self._remember(
                UpstreamAuthFailed("client secret source unavailable", upstream=self._upstream)
            ) from None
        except UpstreamAuthFailed as error:
            self._remember(error)
            raise
        finally:
            self._inflight = None

    def _remember(self, error: UpstreamAuthFailed) -> UpstreamAuthFailed:
        """Callers arriving within the cool-down get this failure instead of another token request."""
        cooldown = error.retry_after_s if error.retry_after_s is not None else self._failure_cooldown_s
        self._failure = _Failure(error, until=self._clock() + cooldown)
        return error

    async def _guarded_request(self) -> AccessToken:
        """The token request through its own pipeline; its failures become ``UPSTREAM_AUTH_FAILED``
        that the API call around it neither retries nor counts against the API's breaker."""
        try:
            if self._guard is None:
                return await self.request_token()
            return await self._guard.call(self.request_token, idempotent=True, route=TOKEN_ROUTE)
        except UpstreamAuthFailed:
            raise
        except UpstreamError as error:
            failed = TokenEndpointUnavailable(
                f"token endpoint {error.message}", upstream=self._upstream, retry_after_s=error.retry_after_s
            )
            failed.final = True
            raise failed from None

    async def request_token(self) -> AccessToken:
        """One request to the token endpoint (the unit a resilience policy wraps).

        Raises ``ClientRefused`` when the endpoint refuses the client, otherwise the upstream error
        tree's outage classes, so that a resilience pipeline can judge them.
        """
        try:
            token = await self._request_token()
        except UpstreamError as error:
            self._metrics.token_fetch(error.code)
            raise
        self._metrics.token_fetch("ok")
        return token

    async def _request_token(self) -> AccessToken:
        if self._session is None:
            raise UpstreamAuthFailed("token endpoint used before start", upstream=self._upstream)
        form = {"grant_type": "client_credentials"}
        if self._scope:
            form["scope"] = self._scope
        if self._audience:
            form["audience"] = self._audience
        headers = {"Accept": "application/json"}
        inject(headers)
        if self._client_auth == "client_secret_basic":
            headers["Authorization"] = encode_basic(self._client_id, self._client_secret.reveal())
        else:
            form["client_id"] = self._client_id
            form["client_secret"] = self._client_secret.reveal()
        started = self._clock()
        sent = time.perf_counter()
        self.token_requests += 1
        with map_transport_errors(self._upstream):
            async with self._session.post(self._token_url, data=form, headers=headers) as response:
                body = await response.read()
                status = response.status
                answered(status, time.perf_counter() - sent)
                retry_after = parse_retry_after(response.headers.get("Retry-After"), wall_now=time.time())
        if status == 429 or status >= 500:
            raise error_for_status(status, upstream=self._upstream, retry_after_s=retry_after)
        if status != 200:
            raise ClientRefused(f"token endpoint refused the client ({status})", upstream=self._upstream)
        try:
            parsed = _TokenResponse.model_validate(orjson.loads(body))
        except (orjson.JSONDecodeError, ValidationError):
            raise UpstreamInvalidResponse("answered an invalid token body", upstream=self._upstream) from None
        lifetime = max(0.0, parsed.expires_in)
        return AccessToken(
            parsed.access_token, refresh_at=started + lifetime * self._refresh_ratio, expires_at=started + lifetime
        )

    def __repr__(self) -> str:
        return (
            f"OAuth2ClientCredentials(upstream={self._upstream!r}, token_url={self._token_url!r}, "
            f"client_id={self._client_id!r}, client_secret={self._client_secret!r})"
        )
