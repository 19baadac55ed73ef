"""Each GraphQL request, as one unit: its trace context, its metrics and its one log event.

``RequestTelemetry`` wraps the request path in front of everything else, so whatever answers a
request (executed, from the response cache, refused) is counted the same way. It accepts the
caller's W3C ``traceparent``/``tracestate`` (while tracing is on, the operation's span is a child
of the caller's), gives the request an id (the caller's ``X-Request-Id`` when it is a short token,
else a new one, sent back in the response), times it, and once the response is sent logs one
``request`` event from what every layer recorded on the way (``clients.telemetry.RequestRecord``).
"""

from __future__ import annotations

import hashlib
import os
import re
import time
from collections.abc import Mapping
from typing import Any

import structlog
from opentelemetry import context as otel_context
from opentelemetry import propagate
from prometheus_client import Counter, Gauge, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

import mobius.logging
from clients.call_records import RequestRecord, recording
from clients.instruments import LevelValue, RequestValues
from clients.memo import keep
from clients.telemetry import LATENCY_BUCKETS_S, metrics_on, tracing_on
from mobius.telemetry.logs import Verbatim, VerbatimRows

HTTP_REQUESTS = Counter(
    "mobius_http_requests", "HTTP requests by path (as routed), method and status.", ["path", "method", "status"]
)
HTTP_DURATION = Histogram(
    "mobius_http_request_duration_seconds",
    "Time from a request's arrival to the end of its response.",
    ["path", "method"],
    buckets=LATENCY_BUCKETS_S,
)
HTTP_IN_FLIGHT = Gauge(
    "mobius_http_requests_in_flight",
    "Requests being answered (summed over workers).",
    ["path"],
    multiprocess_mode="livesum",
)

REQUEST_ID_HEADER = b"x-request-id"
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
_METHODS = frozenset({"GET", "POST", "OPTIONS", "HEAD"})

_LOGGER = "mobius.requests"
CLIENT_TEXT = ("request_id", "caller", "operation_name", "error_codes")
"""The request event's values that may hold what a client or an upstream wrote (its other values
are numbers, ``None`` or verbatim, and none of its keys names a secret): all the redaction reads."""
log = structlog.get_logger(_LOGGER)
_EVENT = Verbatim("request")


class RequestTelemetry:
    """ASGI middleware for the paths it is given, each with the label it is counted under (a key
    ending in ``/`` covers the paths below it: ``{"/webhooks/": "/webhooks/{upstream}"}``); other
    paths pass through."""

    def __init__(self, app: ASGIApp, *, paths: Mapping[str, str], log_requests: bool) -> None:
        self.app = app
        self.paths = {path: label for path, label in paths.items() if not path.endswith("/")}
        self.prefixes = {path: label for path, label in paths.items() if path.endswith("/")}
        self.log_requests = log_requests
        self._in_flight: dict[str, LevelValue] = {}
        self._answered: dict[tuple[str, str, int], RequestValues] = {}
        """The metrics' children's values by label values, looked up once (``labels`` checks and locks
        on every call); bounded: the labels are the configured paths', five methods and the statuses sent."""

    def _label(self, scope: Scope) -> str | None:
        if scope["type"] != "http":
            return None
        path: str = scope["path"]
        label = self.paths.get(path)
        if label is None:
            label = next((label for prefix, label in self.prefixes.items() if path.startswith(prefix)), None)
        return label

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = self._label(scope)
        if path is None:
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        method = scope["method"] if scope["method"] in _METHODS else "other"
        headers = scope["headers"]
        request_id = _request_id(headers)
        status = 0

        async def respond(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), (REQUEST_ID_HEADER, request_id.encode())]
            await send(message)

        token = otel_context.attach(propagate.extract(_carrier(headers))) if tracing_on() else None
        in_flight = None
        if metrics_on():
            in_flight = self._in_flight.get(path)
            if in_flight is None:
                in_flight = self._in_flight[path] = LevelValue(HTTP_IN_FLIGHT.labels(path))
            in_flight.up()
        try:
            with recording() as record:
                try:
                    await self.app(scope, receive, respond)
                finally:
                    duration_s = time.perf_counter() - started
                    if in_flight is not None:
                        in_flight.down()
                        self._answered_metrics(path, method, status).record(duration_s)
                    if self.log_requests:
                        _log(
                            record,
                            request_id=request_id,
                            trace_id=_trace_id(record, headers),
                            method=method,
                            status=status,
                            duration_s=duration_s,
                        )
        finally:
            if token is not None:
                otel_context.detach(token)

    def _answered_metrics(self, path: str, method: str, status: int) -> RequestValues:
        key = (path, method, status)
        values = self._answered.get(key)
        if values is None:
            values = RequestValues(HTTP_REQUESTS.labels(path, method, str(status)), HTTP_DURATION.labels(path, method))
            self._answered[key] = values
        return values


def _log(
    record: RequestRecord, *, request_id: str, trace_id: str | None, method: str, status: int, duration_s: float
) -> None:
    event: dict[str, Any] = {
        "request_id": request_id,
        "trace_id": None if trace_id is None else Verbatim(trace_id),
        "method": Verbatim(method),
        "status": status,
        "duration_ms": round(duration_s * 1000, 3),
        "caller": record.caller,
        "operation_name": record.operation_name,
        "operation_type": None if record.operation_type is None else Verbatim(record.operation_type),
        "operation_hash": None if record.query is None else operation_hash(record.query),
        "cache": None if record.cache is None else Verbatim(record.cache),
        "error_codes": sorted(record.error_codes),
        "upstream_calls": VerbatimRows(
            {
                "upstream": call.upstream,
                "route": call.route,
                "duration_ms": round(call.duration_ms, 3),
                "outcome": call.outcome,
                "attempts": call.attempts,
            }
            for call in record.upstream_calls
        ),
    }
    chain = mobius.logging.json_chain()  # by the module: mobius.logging imports this package
    if chain is None or not chain.write_info(_LOGGER, _EVENT, event, CLIENT_TEXT):
        log.info(_EVENT, **event)


_HASHES: dict[str, Verbatim] = {}
HASHES_KEPT = 256
"""Operation hashes remembered by document text (the texts a gateway sees repeat); started afresh when full."""


def operation_hash(query: str) -> Verbatim:
    """The SHA-256 of the document's text, in hex."""
    digest = _HASHES.get(query)
    if digest is None:
        digest = keep(_HASHES, query, Verbatim(hashlib.sha256(query.encode()).hexdigest()), HASHES_KEPT)
    return digest


def _request_id(headers: list[tuple[bytes, bytes]]) -> str:
    """The caller's id (logged redacted, like any text a client sent), else a new one (verbatim)."""
    for name, value in headers:
        if name == REQUEST_ID_HEADER:
            given = value.decode("latin-1")
            if len(given) <= 128 and _REQUEST_ID.fullmatch(given):
                return given
            break
    return Verbatim(new_request_id())


def new_request_id() -> str:
    """A random (version 4) UUID's 32 hex digits, as ``uuid.uuid4().hex`` writes them, without
    building the ``UUID`` object (its checks cost some tenths of the request log's own work)."""
    value = bytearray(os.urandom(16))
    value[6] = value[6] & 0x0F | 0x40  # version 4
    value[8] = value[8] & 0x3F | 0x80  # the RFC 4122 variant
    return value.hex()


def _trace_id(record: RequestRecord, headers: list[tuple[bytes, bytes]]) -> str | None:
    """The trace the request belongs to: its operation span's, else the caller's ``traceparent``."""
    if record.trace_id is not None:
        return record.trace_id
    for name, value in headers:
        if name == b"traceparent":
            if len(value) != 55:
                return None
            trace_id = value[3:35].decode("latin-1").lower()
            valid = trace_id != "0" * 32 and all(c in "0123456789abcdef" for c in trace_id)
            return trace_id if valid else None
    return None


def _carrier(headers: list[tuple[bytes, bytes]]) -> dict[str, str]:
    return {
        name.decode("latin-1"): value.decode("latin-1")
        for name, value in headers
        if name in (b"traceparent", b"tracestate", b"baggage")
    }
