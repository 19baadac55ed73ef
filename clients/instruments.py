"""Each part's instruments, labelled once when the part is built (``clients.telemetry`` declares the
metrics): an upstream's, an entity-cache type's, the response cache's, and a loader batch's size.
With metrics off every call returns at once."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable
from typing import Protocol, cast

from prometheus_client import Counter, Gauge, Histogram
from prometheus_client.values import MutexValue

from clients.telemetry import (
    BATCH_BUCKETS,
    BREAKER_STATE,
    BREAKER_STATES,
    BREAKER_TRANSITIONS,
    BULKHEAD_IN_FLIGHT,
    BULKHEAD_REJECTIONS,
    CACHE_COALESCED,
    CACHE_LOOKUP_RESULTS,
    CACHE_LOOKUPS,
    CACHE_STORE_ERRORS,
    ERROR_CODES,
    LATENCY_BUCKETS_S,
    LOADER_BATCH_SIZE,
    RATE_LIMIT_REJECTIONS,
    RATE_LIMIT_WAIT_SECONDS,
    RATE_LIMIT_WAITS,
    RESPONSE_CACHE_LOOKUPS,
    RESPONSE_CACHE_WRITES,
    RESPONSE_LOOKUP_RESULTS,
    RESPONSE_WRITE_RESULTS,
    RESPONSES_TYPE,
    RETRY_BUDGET,
    TOKEN_FETCHES,
    UPSTREAM_DURATION,
    UPSTREAM_FAILURES,
    UPSTREAM_REQUESTS,
    UPSTREAM_RETRIES,
    switches,
)


class _Value(Protocol):
    """What prometheus-client keeps one sample's number in (a float under a lock, or a slot of the
    multiprocess mode's files): ``Counter.inc``, ``Gauge.inc`` and ``Histogram.observe`` end in its
    ``inc``, a scrape reads its ``get``."""

    def inc(self, amount: float) -> None: ...

    def get(self) -> float: ...


class Total:
    """One process's sample value as a native class: what prometheus-client's ``MutexValue`` does
    (``inc``, ``set``, ``get`` and the exemplar's two), with the number a compiled field. Our
    instruments update it without a lock: compiled code adds to the field with nothing in between
    where another thread could run, where ``MutexValue.inc`` is a Python frame taking its lock."""

    def __init__(self, total: float) -> None:
        self.total = total
        self.exemplar: object = None

    def inc(self, amount: float) -> None:
        self.total += amount

    def set(self, value: float, timestamp: float | None = None) -> None:
        self.total = value

    def get(self) -> float:
        return self.total

    def set_exemplar(self, exemplar: object) -> None:
        self.exemplar = exemplar

    def get_exemplar(self) -> object:
        return self.exemplar


def _owned(value: _Value) -> _Value:
    """``value`` as a ``Total`` with its count, when it is one process's ``MutexValue``; a
    multiprocess value (a slot of the worker's file) as it is."""
    if isinstance(value, MutexValue):
        return Total(cast(_Value, value).get())
    return value


def _add(value: _Value, amount: float) -> None:
    """``value.inc(amount)``: a ``Total``'s field directly, any other value through its ``inc``."""
    if isinstance(value, Total):
        value.total += amount
    else:
        value.inc(amount)


def _value(child: Counter | Gauge) -> _Value:
    """The value behind a labelled counter or gauge, made a ``Total`` in one process (the child
    then reads and updates it as its own). The public ``inc`` and ``dec`` check on every call that
    the metric is a labelled child and not a parent (three Python calls before the value's own);
    the instruments a call updates are children by construction, so they go to the value."""
    value = _owned(cast(_Value, child._value))  # prometheus-client's own, see the docstring
    child._value = value
    return value


def _histogram_values(histogram: Histogram) -> tuple[_Value, list[_Value]]:
    """The values behind a labelled histogram: its sum and its buckets' counts (each bucket counts
    the observations it is the first to hold, the last one being +Inf), made ``Total``s in one
    process as in ``_value``."""
    total = _owned(cast(_Value, histogram._sum))  # prometheus-client's own, as in ``_value``
    histogram._sum = total
    buckets = cast(list[_Value], histogram._buckets)
    buckets[:] = [_owned(bucket) for bucket in buckets]
    return total, buckets


class RequestValues:
    """One label set's request counter and duration histogram, as the values a call updates: the
    count, the duration's sum and the bucket it falls in (``Histogram.observe``'s bucket: the first
    whose bound is at least the duration; the histograms given here have ``LATENCY_BUCKETS_S``'s
    bounds, then +Inf). In one process each becomes a ``Total`` in the metric's place (once: the
    histogram is shared by the label sets of its route's statuses)."""

    __slots__ = ("count", "duration_buckets", "duration_sum")

    def __init__(self, requests: Counter, duration: Histogram) -> None:
        self.count = _value(requests)
        self.duration_sum, self.duration_buckets = _histogram_values(duration)

    def record(self, duration_s: float) -> None:
        """``requests.inc()`` and ``duration.observe(duration_s)``."""
        _add(self.count, 1)
        _add(self.duration_sum, duration_s)
        _add(self.duration_buckets[bisect_left(LATENCY_BUCKETS_S, duration_s)], 1)


class LevelValue:
    """A labelled gauge's ``inc()`` and ``dec()``, straight on its value (as ``RequestValues``)."""

    __slots__ = ("value",)

    def __init__(self, gauge: Gauge) -> None:
        self.value = _value(gauge)

    def up(self) -> None:
        _add(self.value, 1)

    def down(self) -> None:
        _add(self.value, -1)


class UpstreamInstruments:
    """One upstream's instruments, labelled once; with metrics off every call returns at once."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.on = switches.metrics
        self._retry_budget = RETRY_BUDGET.labels(upstream)
        self._in_flight = BULKHEAD_IN_FLIGHT.labels(upstream)
        self._bulkhead_rejections = BULKHEAD_REJECTIONS.labels(upstream)
        self._waits = RATE_LIMIT_WAITS.labels(upstream)
        self._wait_seconds = RATE_LIMIT_WAIT_SECONDS.labels(upstream)
        self._rate_limited = RATE_LIMIT_REJECTIONS.labels(upstream)
        self._states = {state: BREAKER_STATE.labels(upstream, state) for state in BREAKER_STATES}
        self._in_flight_value = _value(self._in_flight)
        self._routes: dict[tuple[str, str], RequestValues] = {}

    def request(self, route: str, status: str, duration_s: float) -> None:
        if not self.on:
            return
        values = self._routes.get((route, status))
        if values is None:
            values = self._routes[(route, status)] = RequestValues(
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
        if isinstance(self._in_flight_value, Total):
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
    """One entity-cache type's instruments, labelled once, as the values they add to (``_value``):
    a warm request counts its L1 hits once per loop turn that had some."""

    def __init__(self, cache_type: str) -> None:
        self.on = switches.metrics
        self._lookups = {result: _value(CACHE_LOOKUPS.labels(cache_type, result)) for result in CACHE_LOOKUP_RESULTS}
        self._coalesced = _value(CACHE_COALESCED.labels(cache_type))
        self._errors = _value(CACHE_STORE_ERRORS.labels(cache_type))

    def lookup(self, result: str, count: int = 1) -> None:
        if self.on:
            _add(self._lookups[result], count)

    def coalesced(self) -> None:
        if self.on:
            _add(self._coalesced, 1)

    def store_error(self) -> None:
        if self.on:
            _add(self._errors, 1)


class ResponseCacheInstruments:
    """The response cache's instruments, labelled once, as the values they add to (``_value``)."""

    def __init__(self) -> None:
        self.on = switches.metrics
        self._lookups = {result: _value(RESPONSE_CACHE_LOOKUPS.labels(result)) for result in RESPONSE_LOOKUP_RESULTS}
        self._writes = {result: _value(RESPONSE_CACHE_WRITES.labels(result)) for result in RESPONSE_WRITE_RESULTS}
        self._errors = _value(CACHE_STORE_ERRORS.labels(RESPONSES_TYPE))

    def lookup(self, result: str) -> None:
        if self.on:
            _add(self._lookups[result], 1)

    def write(self, result: str) -> None:
        if self.on:
            _add(self._writes[result], 1)

    def store_error(self) -> None:
        if self.on:
            _add(self._errors, 1)


class SizeValues:
    """A labelled ``LOADER_BATCH_SIZE``'s ``observe``, straight on its values (as ``RequestValues``
    observes a duration): prometheus-client's is a Python frame that checks the metric, then walks
    the buckets, each one's ``inc`` taking a lock (about ten thousand instructions a batch)."""

    __slots__ = ("buckets", "total")

    def __init__(self, histogram: Histogram) -> None:
        self.total, self.buckets = _histogram_values(histogram)

    def observe(self, size: int) -> None:
        _add(self.total, size)
        _add(self.buckets[bisect_left(BATCH_BUCKETS, size)], 1)


_batch_sizes: dict[tuple[str, str], SizeValues] = {}
"""``LOADER_BATCH_SIZE`` labelled once per (upstream, declared read): a bounded set."""


def batch_size(upstream: str, read: str, keys: int) -> None:
    """One loader batch of ``keys`` keys for the declared ``read`` of ``upstream``."""
    if switches.metrics:
        values = _batch_sizes.get((upstream, read))
        if values is None:
            values = _batch_sizes[(upstream, read)] = SizeValues(LOADER_BATCH_SIZE.labels(upstream, read))
        values.observe(keys)
