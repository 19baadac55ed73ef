"""Metrics of the event path: intake outcomes, worker outcomes, backlog, dead letters, delay.

Labels are bounded: ``source`` is a declared upstream name (or a broker source's name), ``outcome``
one of a fixed set.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

from clients.telemetry import metrics_on

EVENT_DELAY_BUCKETS_S = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)

EVENTS = Counter(
    "mobius_events",
    "Events by source and outcome: intake (accepted, replay, stale, rejected_signature, rejected_stale_timestamp,"
    " rejected_malformed, rejected_too_large, rejected_unavailable) and worker (applied, skipped_stale, failed,"
    " dead_lettered).",
    ["source", "outcome"],
)
STREAM_BACKLOG = Gauge(
    "mobius_events_stream_backlog",
    "Entries in the durable stream not yet acknowledged (as last seen by a worker).",
    multiprocess_mode="livemax",
)
STREAM_LAG = Gauge(
    "mobius_events_stream_lag_seconds",
    "Age of the oldest unacknowledged stream entry (as last seen by a worker).",
    multiprocess_mode="livemax",
)
DEAD_LETTERS = Gauge(
    "mobius_events_dead_letters",
    "Entries in the dead-letter stream (as last seen by a worker).",
    multiprocess_mode="livemax",
)
EVENT_DELAY = Histogram(
    "mobius_event_delay_seconds",
    "From the change at the upstream (the event's occurred_at) to its effect applied.",
    ["source"],
    buckets=EVENT_DELAY_BUCKETS_S,
)


def count_event(source: str, outcome: str) -> None:
    if metrics_on():
        EVENTS.labels(source=source, outcome=outcome).inc()


def observe_delay(source: str, delay_s: float) -> None:
    if metrics_on():
        EVENT_DELAY.labels(source=source).observe(max(0.0, delay_s))


def observe_backlog(*, waiting: int, lag_s: float, dead: int) -> None:
    if metrics_on():
        STREAM_BACKLOG.set(waiting)
        STREAM_LAG.set(lag_s)
        DEAD_LETTERS.set(dead)
