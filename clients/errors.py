"""The upstream error tree, and the one place where what an upstream did becomes one of its errors:
transport failures (aiohttp, timeouts), HTTP statuses and error bodies, payloads that do not
match their type (``clients.codec``), and GraphQL ``errors`` (whole-request outages and per-field failures).

    UpstreamError                       any failure of one upstream call
    ├── UpstreamUnavailable             the upstream could not answer (retryable by class)
    │   ├── UpstreamTimeout             no answer within the call's timeout
    │   │   └── DeadlineExceeded        the GraphQL request's deadline ran out (local)
    │   ├── UpstreamServerError         a 5xx that is not a transient outage (500, 501, ...)
    │   ├── CircuitOpen                 the gateway refused to call (breaker open; local)
    │   ├── BulkheadFull                too many calls in flight to the upstream (local)
    │   └── RateLimited                 the upstream (or our limiter) said "not now"
    │       └── RateLimitedLocally      our client-side limiter said it (local)
    ├── UpstreamStatusError             the upstream answered with a non-success status
    ├── UpstreamAuthFailed              credentials were refused or could not be obtained
    │   └── TokenEndpointUnavailable    the token endpoint failed (unreachable, 5xx, 429, hang, garbage)
    └── UpstreamInvalidResponse         the answer did not have the shape we rely on

Each class carries a stable public ``code``; ``retry_after_s`` is set where it is known.
``local`` marks the gateway's own rejections: no request was sent (or the request's own deadline
cut it short), so they are never retried and never count as upstream failures.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from types import TracebackType
from typing import Any

import aiohttp
import orjson
from pydantic import ValidationError

from clients.codec import Invalid, invalid_model
from clients.messages import RawResponse
from clients.resilience.ratelimit_headers import parse_retry_after


class UpstreamError(Exception):
    code = "UPSTREAM_ERROR"
    retryable = False
    local = False

    def __init__(self, message: str, *, upstream: str, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.upstream = upstream
        self.retry_after_s = retry_after_s
        self.final = False
        """Set by the resilience pipeline that gave up on it: a pipeline around that one (e.g. an
        API call around its token request) neither retries it again nor counts it as its own."""


class UpstreamUnavailable(UpstreamError):
    code = "UPSTREAM_UNAVAILABLE"
    retryable = True


class UpstreamTimeout(UpstreamUnavailable):
    code = "UPSTREAM_TIMEOUT"


class DeadlineExceeded(UpstreamTimeout):
    code = "DEADLINE_EXCEEDED"
    retryable = False
    local = True


class UpstreamServerError(UpstreamUnavailable):
    retryable = False


class CircuitOpen(UpstreamUnavailable):
    retryable = False
    local = True


class BulkheadFull(UpstreamUnavailable):
    retryable = False
    local = True


class RateLimited(UpstreamUnavailable):
    code = "RATE_LIMITED"


class RateLimitedLocally(RateLimited):
    retryable = False
    local = True


class UpstreamAuthFailed(UpstreamError):
    code = "UPSTREAM_AUTH_FAILED"


class TokenEndpointUnavailable(UpstreamAuthFailed):
    """No token could be obtained because the token endpoint failed, not because it refused us:
    callers see ``UPSTREAM_AUTH_FAILED``; a retry policy may try again."""

    retryable = True


class UpstreamInvalidResponse(UpstreamError):
    code = "UPSTREAM_INVALID_RESPONSE"


TRANSIENT_STATUSES = frozenset({502, 503, 504})

_CODE_BY_STATUS = {
    400: "UPSTREAM_BAD_REQUEST",
    404: "NOT_FOUND",
    409: "CONFLICT",
    412: "CONFLICT",
    428: "CONFLICT",
}


class UpstreamStatusError(UpstreamError):
    """A non-success HTTP status that is not an outage (4xx other than auth and 429)."""

    def __init__(
        self,
        message: str,
        *,
        upstream: str,
        status: int,
        upstream_code: str | None = None,
    ) -> None:
        super().__init__(message, upstream=upstream)
        self.status = status
        self.upstream_code = upstream_code
        self.code = _CODE_BY_STATUS.get(status, "UPSTREAM_ERROR")


def error_for_status(
    status: int,
    *,
    upstream: str,
    retry_after_s: float | None = None,
    upstream_code: str | None = None,
) -> UpstreamError:
    """The most specific error for an HTTP status that is not a success."""
    if status == 429:
        return RateLimited("upstream rate limit exceeded", upstream=upstream, retry_after_s=retry_after_s)
    if status in (401, 403):
        return UpstreamAuthFailed(f"upstream refused credentials ({status})", upstream=upstream)
    if status in TRANSIENT_STATUSES:
        return UpstreamUnavailable(f"upstream answered {status}", upstream=upstream, retry_after_s=retry_after_s)
    if status >= 500:
        return UpstreamServerError(f"upstream answered {status}", upstream=upstream, retry_after_s=retry_after_s)
    return UpstreamStatusError(
        f"upstream answered {status}", upstream=upstream, status=status, upstream_code=upstream_code
    )


class _TransportErrors:
    """A class rather than a generator context manager: it wraps every upstream request (it keeps
    no state per use, so one may be entered again and again)."""

    __slots__ = ("upstream",)

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if isinstance(exc, TimeoutError | aiohttp.ClientError):
            raise transport_error(exc, upstream=self.upstream) from None


def transport_error(exc: TimeoutError | aiohttp.ClientError, *, upstream: str) -> UpstreamError:
    """A transport failure as the most specific ``UpstreamError``."""
    if isinstance(exc, TimeoutError | aiohttp.ServerTimeoutError):
        return UpstreamTimeout("did not answer in time", upstream=upstream)
    return UpstreamUnavailable(f"unreachable ({type(exc).__name__})", upstream=upstream)


def map_transport_errors(upstream: str) -> AbstractContextManager[None]:
    """Transport failures as the most specific ``UpstreamError``; the upstream's own errors pass."""
    return _TransportErrors(upstream)


def is_outage(status: int) -> bool:
    """Statuses the resilience pipeline handles (retry, breaker) rather than the caller's parser."""
    return status == 429 or status >= 500


def error_for_response(upstream: str, response: RawResponse) -> UpstreamError:
    """A REST answer that is not a success: its status, ``Retry-After`` and the body's error code."""
    return error_for_status(
        response.status,
        upstream=upstream,
        retry_after_s=parse_retry_after(response.headers.get("Retry-After"), wall_now=time.time()),
        upstream_code=_body_code(response.body),
    )


def _body_code(body: bytes) -> str | None:
    """``{"error": {"code"|"type": ...}}`` or ``{"error": "..."}``, the shapes REST APIs answer."""
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    error = payload.get("error") if isinstance(payload, dict) else None
    if isinstance(error, dict):
        code = error.get("code") or error.get("type")
        return code if isinstance(code, str) else None
    return error if isinstance(error, str) else None


def invalid_response(
    upstream: str, exc: Invalid | ValidationError, *, what: str = "", where: str = ""
) -> UpstreamInvalidResponse:
    """A payload that did not match its type, located (``what`` was asked, ``where`` in the answer,
    then where the type did not match); the value itself is never shown."""
    invalid = invalid_model(exc) if isinstance(exc, ValidationError) else exc
    location = ".".join(str(part) for part in (where, *invalid.location) if part != "") or "body"
    prefix = f"{what}: " if what else ""
    return UpstreamInvalidResponse(f"{prefix}invalid response at {location}: {invalid.kind}", upstream=upstream)


_STATUS_BY_GRAPHQL_CODE = {"NOT_FOUND": 404, "BAD_USER_INPUT": 400, "CONFLICT": 409}
_RATE_LIMITED_CODES = frozenset({"RATE_LIMITED", "THROTTLED", "TOO_MANY_REQUESTS"})
_UNAVAILABLE_CODES = frozenset({"SERVICE_UNAVAILABLE", "UPSTREAM_UNAVAILABLE", "BAD_GATEWAY", "UNAVAILABLE"})
_TIMEOUT_CODES = frozenset({"TIMEOUT", "GATEWAY_TIMEOUT", "DEADLINE_EXCEEDED"})
_SERVER_ERROR_CODES = frozenset({"INTERNAL_SERVER_ERROR", "INTERNAL", "INTERNAL_ERROR"})


def graphql_error(upstream: str, errors: Sequence[Mapping[str, Any]]) -> UpstreamError:
    """A GraphQL error of one field or request, classified by its ``extensions.code`` (its text is
    not forwarded)."""
    if not errors:
        return UpstreamStatusError("the upstream answered no data", upstream=upstream, status=400)
    code = _graphql_code(errors[0])
    status = _STATUS_BY_GRAPHQL_CODE.get(code, 400) if code is not None else 400
    return UpstreamStatusError(
        f"the upstream reported a GraphQL error ({code or 'no code'})",
        upstream=upstream,
        status=status,
        upstream_code=code,
    )


def graphql_outage(
    upstream: str, data: Mapping[str, Any] | None, errors: Sequence[Mapping[str, Any]]
) -> UpstreamError | None:
    """A whole-request failure reported inside an HTTP 200 (no data, and an outage-like
    ``errors[].extensions.code``). Per-field errors next to data are the caller's to map, and so
    is an error located below a root field: a non-null parent can null all the data for it, but
    it is that field's failure, not the upstream's."""
    if data is not None:
        return None
    for error in errors:
        path = error.get("path")
        if isinstance(path, list) and len(path) > 1:
            continue
        code = _graphql_code(error)
        if code in _RATE_LIMITED_CODES:
            extensions = error["extensions"]
            retry_after = extensions.get("retryAfter")
            return RateLimited(
                "upstream rate limit exceeded",
                upstream=upstream,
                retry_after_s=float(retry_after) if isinstance(retry_after, int | float) else None,
            )
        if code in _UNAVAILABLE_CODES:
            return UpstreamUnavailable(f"upstream reported {code}", upstream=upstream)
        if code in _TIMEOUT_CODES:
            return UpstreamTimeout(f"upstream reported {code}", upstream=upstream)
        if code in _SERVER_ERROR_CODES:
            return UpstreamServerError(f"upstream reported {code}", upstream=upstream)
    return None


def _graphql_code(error: Mapping[str, Any]) -> str | None:
    extensions = error.get("extensions")
    code = extensions.get("code") if isinstance(extensions, dict) else None
    return code if isinstance(code, str) else None
