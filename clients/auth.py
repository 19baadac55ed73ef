"""Auth around one request: ``apply`` puts the current credentials on it before it is sent, and
after a 401 ``refused`` may put fresh ones on it for one replay (e.g. a rotated secret).

``apply`` is a plain call, since it is made for every request: it answers from memory. Only a
scheme that must fetch its credentials first (an OAuth2 token not yet held or due for a refresh)
answers ``None``, and the transport then awaits ``prepare``. Each attempt applies afresh: a
retry re-applies the current credentials and re-signs with a fresh timestamp.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Callable
from dataclasses import replace
from email.utils import parsedate_to_datetime
from typing import Literal, Protocol, TypeVar, runtime_checkable
from urllib.parse import quote

import aiohttp

from clients.messages import OutgoingRequest, RawResponse
from clients.secrets import SecretSource, rotated
from clients.signing import SignatureScheme, Signer

U = TypeVar("U")


class Auth(Protocol[U]):
    """``U`` is what a scheme used on a request (a key, a token), for ``refused`` to compare."""

    def apply(self, request: OutgoingRequest) -> U | None:
        """Put the current credentials on ``request``; ``None`` when they must be fetched first."""
        ...

    async def prepare(self, request: OutgoingRequest) -> U:
        """``apply``, after fetching what it lacked."""
        ...

    async def refused(self, request: OutgoingRequest, response: RawResponse, used: U) -> bool:
        """After a 401 to ``request`` sent with ``used``: True when ``request`` now carries fresh
        credentials and is worth sending once more."""
        ...


@runtime_checkable
class SessionBound(Protocol):
    """An auth scheme that makes requests of its own (e.g. to a token endpoint). Declared here,
    in a module that is not compiled, because ``isinstance`` needs a protocol of plain Python."""

    def attach(self, session: aiohttp.ClientSession) -> None: ...


class NoAuth:
    def apply(self, request: OutgoingRequest) -> bool:
        return True

    async def prepare(self, request: OutgoingRequest) -> bool:
        return True

    async def refused(self, request: OutgoingRequest, response: RawResponse, used: bool) -> bool:
        return False

    def __repr__(self) -> str:
        return "NoAuth()"


def set_query_param(path_qs: str, name: str, value: str) -> str:
    """``path_qs`` with ``name`` set to ``value`` (replaced, never repeated), other pairs untouched."""
    path, _, query = path_qs.partition("?")
    prefix = f"{quote(name, safe='')}="
    pairs = [pair for pair in query.split("&") if pair and not pair.startswith(prefix)]
    pairs.append(prefix + quote(value, safe=""))
    return f"{path}?{'&'.join(pairs)}"


class HeaderAuth:
    """A static credential (API key, bearer token): ``Authorization: Bearer <key>``, another header
    such as ``X-Api-Key: <key>`` (empty scheme), or a query parameter (``placement="query"``).

    On a 401 the source is re-read; if it now holds another value the request is replayed once.
    """

    def __init__(
        self,
        secret: SecretSource,
        *,
        header: str = "Authorization",
        scheme: str = "Bearer",
        placement: Literal["header", "query"] = "header",
        query_param: str = "api_key",
    ) -> None:
        self._secret = secret
        self._header = header
        self._prefix = f"{scheme} " if scheme else ""
        self._placement = placement
        self._query_param = query_param

    @property
    def source(self) -> SecretSource:
        return self._secret

    def apply(self, request: OutgoingRequest) -> str:
        """Put the current credential on ``request``; returns the value used."""
        value = self._secret.reveal()
        if self._placement == "query":
            request.path_qs = set_query_param(request.path_qs, self._query_param, value)
        else:
            request.headers[self._header] = self._prefix + value
        return value

    async def prepare(self, request: OutgoingRequest) -> str:
        return self.apply(request)

    async def refused(self, request: OutgoingRequest, response: RawResponse, used: str) -> bool:
        if await rotated([self._secret], [used]):
            self.apply(request)
            return True
        return False

    def __repr__(self) -> str:
        where = f"query {self._query_param!r}" if self._placement == "query" else f"header {self._header!r}"
        return f"HeaderAuth({self._secret!r}, {where})"


class BasicAuth:
    """HTTP Basic: ``Authorization: Basic base64(user:password)``, both from secret sources (a
    vendor may use its API key as the user name). On a 401 both sources are re-read; if either
    changed the request is replayed once."""

    def __init__(self, username: SecretSource, password: SecretSource) -> None:
        self._username = username
        self._password = password

    def apply(self, request: OutgoingRequest) -> list[str]:
        used = [self._username.reveal(), self._password.reveal()]
        pair = f"{used[0]}:{used[1]}".encode()
        request.headers["Authorization"] = "Basic " + base64.b64encode(pair).decode("ascii")
        return used

    async def prepare(self, request: OutgoingRequest) -> list[str]:
        return self.apply(request)

    async def refused(self, request: OutgoingRequest, response: RawResponse, used: list[str]) -> bool:
        if await rotated([self._username, self._password], used):
            self.apply(request)
            return True
        return False

    def __repr__(self) -> str:
        return f"BasicAuth({self._username!r}, {self._password!r})"


def hmac_signature(secret: str, timestamp: int, request: OutgoingRequest) -> str:
    """Billing's default: hex HMAC-SHA256 of ``t.METHOD.path_qs.sha256(body)``."""
    return SignatureScheme().signature(secret, timestamp, request)


class HmacSignedAuth:
    """A static credential plus an HMAC signature over the final request (after placement).

    ``clock`` is wall-clock seconds. On a 401 the flow re-reads both secrets and, when the
    response's ``Date`` shows our clock is off by more than ``scheme.resync_after_s``, adopts
    that offset; if either changed anything it signs afresh and replays once.
    """

    def __init__(
        self,
        credential: HeaderAuth,
        signing_secret: SecretSource,
        *,
        header: str | None = None,
        scheme: SignatureScheme | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        scheme = scheme or SignatureScheme()
        if header is not None:
            scheme = replace(scheme, header=header)
        self._credential = credential
        self._signing_secret = signing_secret
        self._scheme = scheme
        self._signer: Signer | None = None
        self._clock = clock
        self.clock_offset_s = 0.0

    def apply(self, request: OutgoingRequest) -> tuple[str, str, int]:
        """Apply the credential and sign; returns (key used, secret used, timestamp signed)."""
        key = self._credential.apply(request)
        secret = self._signing_secret.reveal()
        timestamp = int(self._clock() + self.clock_offset_s)
        signer = self._signer
        if signer is None or signer.secret != secret:
            signer = self._signer = self._scheme.signer(secret)
        request.headers[self._scheme.header] = signer.header_value(timestamp, request)
        return key, secret, timestamp

    async def prepare(self, request: OutgoingRequest) -> tuple[str, str, int]:
        return self.apply(request)

    async def refused(self, request: OutgoingRequest, response: RawResponse, used: tuple[str, str, int]) -> bool:
        key, secret, timestamp = used
        changed = await rotated([self._credential.source, self._signing_secret], [key, secret])
        if self._resync(response, timestamp) or changed:
            self.apply(request)
            return True
        return False

    def _resync(self, response: RawResponse, signed_at: int) -> bool:
        """Learn the upstream's clock from the ``Date`` of a refusal; True if the offset changed."""
        date = response.headers.get("Date")
        if not date:
            return False
        try:
            server_now = parsedate_to_datetime(date).timestamp()
        except (TypeError, ValueError):
            return False
        if abs(server_now - signed_at) <= self._scheme.resync_after_s:
            return False
        self.clock_offset_s = server_now - self._clock()
        return True

    def __repr__(self) -> str:
        return f"HmacSignedAuth({self._credential!r}, {self._signing_secret!r}, {self._scheme.algorithm})"
