"""The upstream error tree. Foreign exceptions (aiohttp, gql, pydantic) are mapped here, once.

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
