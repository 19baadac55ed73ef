"""Every metric ``clients/`` and ``resolvers/`` record, declared here once, and the switches that
turn metrics and tracing on or off for the process.

Label values are bounded by construction: upstream, route (a declared template, never a raw path),
read and cache type names come from declarations; status classes, outcomes and states from fixed
sets; error codes through ``BoundedValues``. No id, no user input, ever.

Metrics are on unless the server turns them off (``configure``) before it builds its upstreams and
cache: each part takes its instruments once (``clients.instruments``), already labelled, so a call
costs no label lookup, and with metrics off it holds no-op instruments. Tracing is off unless the
server installs an exporter; while it is off no span is started and no header injected
(``clients.spans``). Under ``mobius serve --workers N`` prometheus-client's multiprocess mode keeps
these values in files one scrape reads (gauges say how workers combine: ``livesum``, ``livemax``,
``livemin``).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from prometheus_client import Counter, Gauge, Histogram

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
class Switches:
    metrics: bool = True
    tracing: bool = False


switches = Switches()
"""Read at each call by the instruments (``clients.instruments``) and spans (``clients.spans``);
set by ``configure``."""


def configure(*, metrics: bool, tracing: bool) -> None:
    """Set once per process by the server, before it builds the parts that take instruments."""
    switches.metrics = metrics
    switches.tracing = tracing


def metrics_on() -> bool:
    return switches.metrics


def tracing_on() -> bool:
    return switches.tracing
