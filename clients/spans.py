"""The gateway's tracer below the server: spans and trace-context headers, all of them nothing
while tracing is off (``clients.telemetry.configure``)."""

from __future__ import annotations

from collections.abc import MutableMapping
from contextlib import AbstractContextManager
from types import TracebackType

from opentelemetry import propagate, trace
from opentelemetry.trace import Span, SpanKind

from clients.telemetry import switches

tracer = trace.get_tracer("mobius")


class _NoSpan:
    """``nullcontext()`` compiled: entered, it is ``None``, and it lets every exception through
    (``nullcontext``'s two methods are Python frames, entered around every upstream call)."""

    __slots__ = ()

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        return None


_NO_SPAN: AbstractContextManager[None] = _NoSpan()
"""What ``span`` gives while tracing is off (it keeps no state, so one serves every call)."""


def span(name: str, *, kind: SpanKind = SpanKind.INTERNAL) -> AbstractContextManager[Span | None]:
    """A child span of the current one while tracing is on; otherwise nothing is started."""
    if not switches.tracing:
        return _NO_SPAN
    return tracer.start_as_current_span(name, kind=kind, record_exception=False, set_status_on_exception=False)


def call_span(upstream: str, route: str) -> AbstractContextManager[Span | None]:
    """``span`` of one upstream call (``<upstream> <route>``, a client span); the name is written
    only while tracing is on."""
    if not switches.tracing:
        return _NO_SPAN
    return span(f"{upstream} {route}", kind=SpanKind.CLIENT)


def inject(headers: MutableMapping[str, str]) -> None:
    """Add the current trace context (``traceparent``, ``tracestate``) to an outgoing request."""
    if switches.tracing:
        propagate.inject(headers)


def add_event(name: str, attributes: dict[str, str | int | float]) -> None:
    """An event on the current span while tracing is on."""
    if switches.tracing:
        trace.get_current_span().add_event(name, attributes)
