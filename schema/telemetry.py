"""GraphQL operations in metrics, traces and the request's log record.

One hook per operation, none per field: ``OperationTelemetry.observe`` wraps an operation's
execution in its span and, once the result is known, counts it by name, type and outcome with
its duration, and its errors by code.

An operation's name is chosen by the client, so it is a label only while it stays bounded: the
first ``limit`` distinct names a process sees are labelled as they are, every later one counts as
``other`` (see ``BoundedValues``; an attacker who sends a thousand names fills the list and then
only grows ``other``). Unnamed operations are ``anonymous``.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import Token

from graphql import GraphQLError
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import Span, SpanKind, Status, StatusCode
from prometheus_client import Counter, Histogram

from clients.call_records import current_record
from clients.instruments import RequestValues
from clients.spans import tracer
from clients.telemetry import ERROR_CODES, LATENCY_BUCKETS_S, BoundedValues, metrics_on, switches

OPERATIONS = Counter(
    "mobius_graphql_operations",
    "GraphQL operations executed, by name (bounded), type and outcome (ok, partial: data with errors, error).",
    ["operation", "type", "outcome"],
)
OPERATION_DURATION = Histogram(
    "mobius_graphql_operation_duration_seconds",
    "Time to execute a GraphQL operation (parsing and validation included).",
    ["operation", "type"],
    buckets=LATENCY_BUCKETS_S,
)
ERRORS = Counter("mobius_graphql_errors", "Errors in GraphQL responses, by extensions.code.", ["code"])

ANONYMOUS = "anonymous"
UNKNOWN_TYPE = "unknown"
"""The type of an operation that never got one: unparsable, or not found in its document."""


class Operation:
    """What is known of one operation as it runs; ``finish`` completes it. A plain class: compiled,
    its ``__init__`` is native (a dataclass keeps the generated Python one)."""

    def __init__(self, *, span: Span | None = None, token: Token[Context] | None = None) -> None:
        self.name: str | None = None
        self.type: str = UNKNOWN_TYPE
        self.span = span
        self.token = token
        """The context token that made ``span`` the current span (``begin``), detached by ``end``."""
        self.started = time.perf_counter()


class OperationTelemetry:
    def __init__(self, *, names_limit: int = 200) -> None:
        self.names = BoundedValues(names_limit)
        self._counted: dict[tuple[str, str, str], RequestValues] = {}
        """The metrics' children's values by label values, looked up once (``labels`` checks and locks
        on every call); bounded as the names are, times the few types and outcomes."""

    @contextmanager
    def observe(self, query: str | None) -> Iterator[Operation]:
        """Around one operation's parsing, validation and execution; the caller fills in the name
        and type as they become known and calls ``finish`` with the result."""
        operation = self.begin(query)
        try:
            yield operation
        finally:
            self.end(operation)

    def begin(self, query: str | None) -> Operation:
        """``observe`` without its generator, for a caller that calls ``end`` in a ``finally``
        (two plain calls where tracing is off, as it is on the hot path)."""
        record = current_record()
        if record is not None:
            record.query = query
        if not switches.tracing:
            return Operation()
        current = tracer.start_span("graphql.operation", kind=SpanKind.SERVER)
        if record is not None:
            record.trace_id = format(current.get_span_context().trace_id, "032x")
        return Operation(span=current, token=otel_context.attach(trace.set_span_in_context(current)))

    def end(self, operation: Operation) -> None:
        """The operation's span, if it has one, stops being the current one and ends."""
        current = operation.span
        if current is not None:
            if operation.token is not None:
                otel_context.detach(operation.token)
            current.end()

    def cache_verdict(self, verdict: str) -> None:
        """The response cache's ``MISS`` or ``BYPASS`` for the request being executed."""
        record = current_record()
        if record is not None:
            record.cache = verdict

    def served_stored(self, query: str, name: str | None, caller: str) -> None:
        """An operation answered from the response cache (``HIT``): nothing was executed."""
        record = current_record()
        if record is not None:
            record.cache, record.query, record.operation_name, record.caller = "HIT", query, name, caller

    def finish(self, operation: Operation, *, data_present: bool, errors: Sequence[GraphQLError]) -> None:
        codes = [_code(error) for error in errors]
        outcome = "ok" if not errors else "partial" if data_present else "error"
        label = ANONYMOUS if operation.name is None else self.names(operation.name)
        if metrics_on():
            self._children(label, operation.type, outcome).record(time.perf_counter() - operation.started)
            for code in codes:
                ERRORS.labels(ERROR_CODES(code)).inc()
        record = current_record()
        if record is not None:
            record.operation_name = operation.name
            record.operation_type = operation.type
            record.error_codes.update(codes)
        current = operation.span
        if current is not None:
            current.update_name(f"{operation.type} {label}" if operation.name else operation.type)
            current.set_attributes({"graphql.operation.type": operation.type, "mobius.outcome": outcome})
            if operation.name is not None:
                current.set_attribute("graphql.operation.name", operation.name[: self.names.max_length])
            if codes:
                current.set_attribute("mobius.error_codes", sorted(set(codes)))
            if outcome == "error":
                current.set_status(Status(StatusCode.ERROR))

    def _children(self, label: str, kind: str, outcome: str) -> RequestValues:
        key = (label, kind, outcome)
        values = self._counted.get(key)
        if values is None:
            values = self._counted[key] = RequestValues(OPERATIONS.labels(*key), OPERATION_DURATION.labels(label, kind))
        return values


def refused_errors(errors: Sequence[GraphQLError]) -> None:
    """A request refused before any operation ran (unparsable, invalid, unauthenticated ...): its
    errors by code, in the metrics and the request's record."""
    codes = [_code(error) for error in errors]
    if metrics_on():
        for code in codes:
            ERRORS.labels(ERROR_CODES(code)).inc()
    record = current_record()
    if record is not None:
        record.error_codes.update(codes)


def _code(error: GraphQLError) -> str:
    code = error.extensions.get("code") if error.extensions else None
    return code if isinstance(code, str) else "UNKNOWN"
