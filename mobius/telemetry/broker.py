"""Metrics of the broker sources: what became of each message, and the state of the connection.

Label values come from fixed sets: the source's configured name and the outcomes below.
"""

from __future__ import annotations

from typing import Literal

from prometheus_client import Counter, Gauge

Outcome = Literal["appended", "oversize", "unparseable", "sink_failed"]

BROKER_MESSAGES = Counter(
    "mobius_broker_messages",
    "Broker messages by outcome: appended (then acknowledged), oversize or unparseable (dead-lettered), "
    "sink_failed (left unacknowledged for redelivery).",
    ["source", "outcome"],
)
BROKER_CONNECTED = Gauge(
    "mobius_broker_connected",
    "1 while the source consumes from its broker, 0 while it waits to reconnect.",
    ["source"],
    multiprocess_mode="livemax",
)
BROKER_RECONNECTS = Counter(
    "mobius_broker_reconnects",
    "Connection attempts after the first, whether they failed to connect or lost a connection.",
    ["source"],
)
