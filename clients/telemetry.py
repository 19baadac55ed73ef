"""Metrics and traces below the server: every metric ``clients/`` and ``resolvers/`` record is
declared here, once, and so is their tracer.

Label values are bounded by construction: upstream, route (a declared template, never a raw path),
read and cache type names come from declarations; status classes, outcomes and states from fixed
sets; error codes through ``BoundedValues``. No id, no user input, ever.

Metrics are on unless the server turns them off (``configure``) before it builds its upstreams and
cache: each part takes its instruments once, already labelled, so a call costs no label lookup,
and with metrics off it holds no-op instruments. Tracing is off unless the server installs an
exporter; while it is off no span is started and no header injected. Under ``mobius serve
--workers N`` prometheus-client's multiprocess mode keeps these values in files one scrape reads
(gauges say how workers combine: ``livesum``, ``livemax``, ``livemin``).
"""

from __future__ import annotations

import threading
from bisect import bisect_left
from collections.abc import Callable, Iterator, MutableMapping
from contextlib import AbstractContextManager, contextmanager
from contextvars import ContextVar, Token
from dataclasses import dataclass, field
from types import TracebackType
from typing import Protocol, cast

from opentelemetry import propagate, trace
from opentelemetry.trace import Span, SpanKind
from prometheus_client import Counter, Gauge, Histogram
from prometheus_client.values import MutexValue

LATENCY_BUCKETS_S = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
BATCH_BUCKETS = (1, 2, 5, 10, 20, 50, 100, 200)
OTHER = "other"


class BoundedValues:
    """Admits at most ``limit`` distinct label values, first come; the rest count as ``other``.

    A label fed from outside (an error code an upstream chose, an operation name a client chose)
    cannot grow the number of series past this bound. First come rather than least recently used:
    a series once exposed stays in the exposition (multiprocess files keep it), so evicting a
    value would not take its series back.
    """

    def __init__(self, limit: int, *, max_length: int = 64) -> None:
        self.limit = limit
        self.max_length = max_length
        self._admitted: set[str] = set()
        self._lock = threading.Lock()

    def __call__(self, value: str) -> str:
        if value in self._admitted:
            return value
        if len(value) > self.max_length or len(self._admitted) >= self.limit:
            return OTHER
        with self._lock:
            if len(self._admitted) < self.limit:
                self._admitted.add(value)
                return value
        return OTHER


BREAKER_STATES = ("closed", "open", "half_open")
ERROR_CODES = BoundedValues(64)
"""Error codes are the gateway's own, but an upstream's vocabulary can leak into them."""

UPSTREAM_REQUESTS = Counter(
    "mobius_upstream_requests",
    "Requests sent to an upstream (each attempt), by the status class of its answer (error: none).",
    ["upstream", "route", "status_class"],
)
UPSTREAM_DURATION = Histogram(
    "mobius_upstream_request_duration_seconds",
    "Time from sending one attempt to an upstream to its answer.",
    ["upstream", "route"],
    buckets=LATENCY_BUCKETS_S,
)
UPSTREAM_FAILURES = Counter(
    "mobius_upstream_failures",
    "Upstream calls that failed after their retries, by the error code the caller saw.",
    ["upstream", "route", "code"],
)
UPSTREAM_RETRIES = Counter(
    "mobius_upstream_retries", "Retried attempts, by the error that caused them.", ["upstream", "code"]
)
RETRY_BUDGET = Gauge(
    "mobius_upstream_retry_budget_tokens",
    "Retries the upstream's retry budget still allows (the lowest of all workers).",
    ["upstream"],
    multiprocess_mode="livemin",
)
BREAKER_STATE = Gauge(
    "mobius_upstream_breaker_state",
    "1 for the circuit breaker's current state (with several workers: in any of them).",
    ["upstream", "state"],
    multiprocess_mode="livemax",
)
BREAKER_TRANSITIONS = Counter(
    "mobius_upstream_breaker_transitions", "Circuit breaker transitions.", ["upstream", "from_state", "to_state"]
)
BULKHEAD_IN_FLIGHT = Gauge(
    "mobius_upstream_bulkhead_in_flight",
    "Calls holding a bulkhead slot (summed over workers).",
    ["upstream"],
    multiprocess_mode="livesum",
)
BULKHEAD_REJECTIONS = Counter(
    "mobius_upstream_bulkhead_rejections", "Calls refused because the upstream's bulkhead was full.", ["upstream"]
)
RATE_LIMIT_WAITS = Counter(
    "mobius_upstream_rate_limit_waits", "Calls that waited for the upstream's rate limit.", ["upstream"]
)
RATE_LIMIT_WAIT_SECONDS = Counter(
    "mobius_upstream_rate_limit_wait_seconds", "Time calls spent waiting for the rate limit.", ["upstream"]
)
RATE_LIMIT_REJECTIONS = Counter(
    "mobius_upstream_rate_limit_rejections",
    "Calls held back by the gateway because the upstream's rate limit was spent.",
    ["upstream"],
)
TOKEN_FETCHES = Counter(
    "mobius_upstream_token_fetches",
    "Requests to an upstream's token endpoint, by outcome (ok, or the error code).",
    ["upstream", "outcome"],
)
LOADER_BATCH_SIZE = Histogram(
    "mobius_loader_batch_size", "Keys per loader batch.", ["upstream", "read"], buckets=BATCH_BUCKETS
)
CACHE_LOOKUPS = Counter(
    "mobius_cache_lookups",
    "Entity-cache lookups by result: l1_hit, hit (shared store), stale (served past fresh), miss.",
    ["type", "result"],
)
CACHE_COALESCED = Counter(
    "mobius_cache_coalesced", "Loads that joined another load's read or fetch of the same key.", ["type"]
)
CACHE_STORE_ERRORS = Counter(
    "mobius_cache_store_errors",
    "Cache store calls that failed (the request went on without it), by cached type or responses.",
    ["type"],
)
RESPONSE_CACHE_LOOKUPS = Counter(
    "mobius_response_cache_lookups",
    "Response-cache lookups: hit, l1_hit, miss or bypass (not a cacheable query).",
    ["result"],
)
RESPONSE_CACHE_WRITES = Counter(
    "mobius_response_cache_writes",
    "Responses executed after a miss: stored, or skipped (they may not be reused).",
    ["result"],
)
CACHE_LOOKUP_RESULTS = ("l1_hit", "hit", "stale", "miss")
RESPONSE_LOOKUP_RESULTS = ("hit", "l1_hit", "miss", "bypass")
RESPONSE_WRITE_RESULTS = ("stored", "skipped")
RESPONSES_TYPE = "responses"
"""The response cache's ``type`` in the cache metrics shared with the entity cache's types."""


@dataclass(slots=True)
class _Switches:
    metrics: bool = True
    tracing: bool = False


_switches = _Switches()


def configure(*, metrics: bool, tracing: bool) -> None:
    """Set once per process by the server, before it builds the parts that take instruments."""
    _switches.metrics = metrics
    _switches.tracing = tracing


def metrics_on() -> bool:
    return _switches.metrics


def tracing_on() -> bool:
    return _switches.tracing


_STATUS_CLASSES = ("1xx", "2xx", "3xx", "4xx", "5xx")


def status_class(status: int) -> str:
    return _STATUS_CLASSES[status // 100 - 1] if 100 <= status < 600 else OTHER


class _Value(Protocol):
    """What prometheus-client keeps one sample's number in (a float under a lock, or a slot of the
    multiprocess mode's files): ``Counter.inc``, ``Gauge.inc`` and ``Histogram.observe`` end in its
    ``inc``."""

    def inc(self, amount: float) -> None: ...


def _add(value: _Value, amount: float) -> None:
    """``value.inc(amount)``. One process's ``MutexValue`` is updated here, under its own lock:
    its ``inc`` is a Python frame around these lines, and most of what an answer's three updates
    cost (prometheus-client's own attributes, as in ``_value``). The lock is taken and let go by
    its own methods: a ``with`` looks up ``__enter__`` and ``__exit__`` and calls the latter with
    three arguments. A multiprocess value (a slot of the worker's file) through its ``inc``."""
    if isinstance(value, MutexValue):
        lock = value._lock
        lock.acquire()
        try:
            value._value += amount
        finally:
            lock.release()
    else:
        value.inc(amount)


def _value(child: Counter | Gauge) -> _Value:
    """The value behind a labelled counter or gauge. The public ``inc`` and ``dec`` check on every
    call that the metric is a labelled child and not a parent (three Python calls before the
    value's own); the instruments a call updates are children by construction, so they go to it."""
    return cast(_Value, child._value)  # prometheus-client's own, see the docstring


class _RequestValues:
    """One (route, status class)'s request counter and duration histogram, as the values a call
    updates: the count, the duration's sum and the bucket it falls in (``Histogram.observe``'s
    bucket: the first whose bound is at least the duration; ``UPSTREAM_DURATION``'s bounds are
    ``LATENCY_BUCKETS_S``, then +Inf)."""

    __slots__ = ("count", "duration_buckets", "duration_sum")

    def __init__(self, requests: Counter, duration: Histogram) -> None:
        self.count = _value(requests)
        self.duration_sum = cast(_Value, duration._sum)  # prometheus-client's own, as in ``_value``
        self.duration_buckets = cast(list[_Value], duration._buckets)


class UpstreamInstruments:
    """One upstream's instruments, labelled once; with metrics off every call returns at once."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.on = _switches.metrics
        self._retry_budget = RETRY_BUDGET.labels(upstream)
        self._in_flight = BULKHEAD_IN_FLIGHT.labels(upstream)
        self._bulkhead_rejections = BULKHEAD_REJECTIONS.labels(upstream)
        self._waits = RATE_LIMIT_WAITS.labels(upstream)
        self._wait_seconds = RATE_LIMIT_WAIT_SECONDS.labels(upstream)
        self._rate_limited = RATE_LIMIT_REJECTIONS.labels(upstream)
        self._states = {state: BREAKER_STATE.labels(upstream, state) for state in BREAKER_STATES}
        self._in_flight_value = _value(self._in_flight)
        self._routes: dict[tuple[str, str], _RequestValues] = {}

    def request(self, route: str, status: str, duration_s: float) -> None:
        if not self.on:
            return
        values = self._routes.get((route, status))
        if values is None:
            values = self._routes[(route, status)] = _RequestValues(
                UPSTREAM_REQUESTS.labels(self.upstream, route, status), UPSTREAM_DURATION.labels(self.upstream, route)
            )
        _add(values.count, 1)
        _add(values.duration_sum, duration_s)
        _add(values.duration_buckets[bisect_left(LATENCY_BUCKETS_S, duration_s)], 1)

    def failure(self, route: str, code: str) -> None:
        if self.on:
            UPSTREAM_FAILURES.labels(self.upstream, route, ERROR_CODES(code)).inc()

    def retry(self, code: str) -> None:
        if self.on:
            UPSTREAM_RETRIES.labels(self.upstream, ERROR_CODES(code)).inc()

    def retry_budget(self, tokens: float) -> None:
        if self.on:
            self._retry_budget.set(tokens)

    def breaker_state(self, state: str) -> None:
        if self.on:
            for name, child in self._states.items():
                child.set(1 if name == state else 0)

    def breaker_transition(self, from_state: str, to_state: str) -> None:
        if self.on:
            BREAKER_TRANSITIONS.labels(self.upstream, from_state, to_state).inc()
            self.breaker_state(to_state)

    def in_flight(self, count: Callable[[], int]) -> bool:
        """Show ``count`` (a bulkhead's calls in flight) as the in-flight gauge; True when the
        bulkhead must move the gauge itself with each slot (``slot_taken``, ``slot_freed``).

        In one process the gauge reads ``count`` when it is scraped, so a call moves nothing (it
        moved the value twice, each a locked update). Under multiprocess mode a scrape reads the
        workers' files, not this process's objects, so each slot moves the value in the file."""
        if not self.on:
            return False
        if isinstance(self._in_flight_value, MutexValue):
            self._in_flight.set_function(count)
            return False
        return True

    def slot_taken(self) -> None:
        self._in_flight_value.inc(1)

    def slot_freed(self) -> None:
        self._in_flight_value.inc(-1)

    def bulkhead_rejected(self) -> None:
        if self.on:
            self._bulkhead_rejections.inc()

    def rate_limit_wait(self, seconds: float) -> None:
        if self.on:
            self._waits.inc()
            self._wait_seconds.inc(seconds)

    def rate_limit_rejected(self) -> None:
        if self.on:
            self._rate_limited.inc()

    def token_fetch(self, outcome: str) -> None:
        if self.on:
            TOKEN_FETCHES.labels(self.upstream, ERROR_CODES(outcome)).inc()


class CacheTypeInstruments:
    """One entity-cache type's instruments, labelled once."""

    def __init__(self, cache_type: str) -> None:
        self.on = _switches.metrics
        self._lookups = {result: CACHE_LOOKUPS.labels(cache_type, result) for result in CACHE_LOOKUP_RESULTS}
        self._coalesced = CACHE_COALESCED.labels(cache_type)
        self._errors = CACHE_STORE_ERRORS.labels(cache_type)

    def lookup(self, result: str, count: int = 1) -> None:
        if self.on:
            self._lookups[result].inc(count)

    def coalesced(self) -> None:
        if self.on:
            self._coalesced.inc()

    def store_error(self) -> None:
        if self.on:
            self._errors.inc()


class ResponseCacheInstruments:
    def __init__(self) -> None:
        self.on = _switches.metrics
        self._lookups = {result: RESPONSE_CACHE_LOOKUPS.labels(result) for result in RESPONSE_LOOKUP_RESULTS}
        self._writes = {result: RESPONSE_CACHE_WRITES.labels(result) for result in RESPONSE_WRITE_RESULTS}
        self._errors = CACHE_STORE_ERRORS.labels(RESPONSES_TYPE)

    def lookup(self, result: str) -> None:
        if self.on:
            self._lookups[result].inc()

    def write(self, result: str) -> None:
        if self.on:
            self._writes[result].inc()

    def store_error(self) -> None:
        if self.on:
            self._errors.inc()


_batch_sizes: dict[tuple[str, str], Histogram] = {}
"""``LOADER_BATCH_SIZE`` labelled once per (upstream, declared read): a bounded set."""


def batch_size(upstream: str, read: str, keys: int) -> None:
    """One loader batch of ``keys`` keys for the declared ``read`` of ``upstream``."""
    if _switches.metrics:
        child = _batch_sizes.get((upstream, read))
        if child is None:
            child = _batch_sizes[(upstream, read)] = LOADER_BATCH_SIZE.labels(upstream, read)
        child.observe(keys)


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
    if not _switches.tracing:
        return _NO_SPAN
    return tracer.start_as_current_span(name, kind=kind, record_exception=False, set_status_on_exception=False)


def call_span(upstream: str, route: str) -> AbstractContextManager[Span | None]:
    """``span`` of one upstream call (``<upstream> <route>``, a client span); the name is written
    only while tracing is on."""
    if not _switches.tracing:
        return _NO_SPAN
    return span(f"{upstream} {route}", kind=SpanKind.CLIENT)


def inject(headers: MutableMapping[str, str]) -> None:
    """Add the current trace context (``traceparent``, ``tracestate``) to an outgoing request."""
    if _switches.tracing:
        propagate.inject(headers)


ANY_ROUTE = "*"
"""The route of a call made without one (a pipeline used on its own)."""


@dataclass(slots=True)
class AttemptState:
    """One attempt in flight: whose it is, and how many HTTP answers it got (an auth flow may
    send a request again after a 401). Entered, it is the current attempt of its task."""

    instruments: UpstreamInstruments
    route: str
    answers: int = 0
    _token: Token[AttemptState | None] | None = None

    def __enter__(self) -> AttemptState:
        self._token = _attempt.set(self)
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if self._token is not None:
            _attempt.reset(self._token)


_attempt: ContextVar[AttemptState | None] = ContextVar("mobius_upstream_attempt", default=None)


def attempting(instruments: UpstreamInstruments, route: str) -> AttemptState:
    """Around one attempt: the transport's ``answered`` calls inside it (same task) count here."""
    return AttemptState(instruments, route)


def answered(status: int, duration_s: float) -> None:
    """The transport got an answer with ``status``, ``duration_s`` after sending the request."""
    state = _attempt.get()
    if state is not None:
        state.answers += 1
        state.instruments.request(state.route, status_class(status), duration_s)


def add_event(name: str, attributes: dict[str, str | int | float]) -> None:
    """An event on the current span while tracing is on."""
    if _switches.tracing:
        trace.get_current_span().add_event(name, attributes)


@dataclass(slots=True)
class UpstreamCall:
    upstream: str
    route: str
    duration_ms: float
    outcome: str
    """``ok`` or the error code the caller saw."""
    attempts: int


@dataclass(slots=True)
class RequestRecord:
    """What one request did, gathered for its log event by each layer as it happens."""

    upstream_calls: list[UpstreamCall] = field(default_factory=list)
    error_codes: set[str] = field(default_factory=set)
    query: str | None = None
    operation_name: str | None = None
    operation_type: str | None = None
    caller: str | None = None
    trace_id: str | None = None
    cache: str | None = None
    """The response cache's verdict (``HIT``, ``MISS``, ``BYPASS``) where it was asked."""


_record: ContextVar[RequestRecord | None] = ContextVar("mobius_request_record", default=None)


@contextmanager
def recording() -> Iterator[RequestRecord]:
    """Gather what happens below the server for one request (tasks it starts inherit it)."""
    record = RequestRecord()
    token = _record.set(record)
    try:
        yield record
    finally:
        _record.reset(token)


def current_record() -> RequestRecord | None:
    return _record.get()
