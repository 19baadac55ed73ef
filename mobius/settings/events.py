"""The event path (webhooks, the RabbitMQ broker, the stream's worker) and the subscriptions it feeds."""

from __future__ import annotations

from pydantic import Field, model_validator

from mobius.settings.base import SecretRef, Strict


class SubscriptionsSettings(Strict):
    """GraphQL subscriptions over WebSocket and Server-Sent Events (docs/subscriptions.md)."""

    enabled: bool = True
    buffer: int = Field(
        default=256, ge=1, le=100_000, description="events queued per subscriber; past it the subscriber is dropped"
    )
    heartbeat_s: float = Field(default=15.0, gt=0, le=3600, description="ping (WebSocket) or comment (SSE) interval")
    max_per_connection: int = Field(default=20, ge=1, le=1000, description="operations at once on one WebSocket")
    connection_init_timeout_s: float = Field(
        default=10.0, gt=0, le=600, description="a WebSocket must send connection_init within this"
    )


class BrokerReconnectSettings(Strict):
    """Backoff between connection attempts: ``initial_s`` doubling up to ``max_s``, each wait drawn
    at random from its upper ``jitter`` fraction (so a fleet does not reconnect in step)."""

    initial_s: float = Field(default=0.5, gt=0)
    max_s: float = Field(default=30.0, gt=0)
    multiplier: float = Field(default=2.0, ge=1)
    jitter: float = Field(default=0.5, ge=0, le=1)


class BrokerSettings(Strict):
    """The projects upstream's issue events from a RabbitMQ topic exchange (docs/events-broker.md).

    Off by default: the demo takes its events by webhook and needs no broker."""

    enabled: bool = False
    url: SecretRef | None = Field(
        default=None, description="amqp://user:password@host:5672/vhost; read anew at every reconnect"
    )
    exchange: str = Field(default="projects.events", min_length=1, max_length=255)
    queue: str = Field(
        default="mobius.projects.issues",
        min_length=1,
        max_length=200,
        description="a durable quorum queue; poison messages go to <queue>.dead",
    )
    routing_keys: tuple[str, ...] = Field(default=("projects.issue.*",), min_length=1)
    prefetch: int = Field(default=64, ge=1, le=10_000)
    max_message_bytes: int = Field(default=65_536, ge=256, le=16 * 1024 * 1024)
    connect_timeout_s: float = Field(default=5.0, gt=0)
    reconnect: BrokerReconnectSettings = BrokerReconnectSettings()

    @model_validator(mode="after")
    def _url_when_enabled(self) -> BrokerSettings:
        if self.enabled and self.url is None:
            raise ValueError("events.broker.enabled needs events.broker.url")
        return self


class EventsSettings(Strict):
    """The event path (docs/events.md): webhook intake, the durable stream and its worker."""

    worker: bool = Field(default=True, description="run the stream's worker inside demo and serve")
    tolerance_s: float = Field(default=300.0, gt=0, le=3600, description="webhook timestamps this far off are refused")
    replay_ttl_s: float = Field(default=900.0, gt=0, description="how long an event id is remembered")
    version_ttl_s: float = Field(default=7 * 86400.0, gt=0, description="how long an entity's applied version is kept")
    batch: int = Field(default=100, ge=1, le=10_000)
    block_s: float = Field(default=1.0, gt=0, le=60)
    claim_idle_s: float = Field(default=30.0, gt=0, description="unacknowledged this long: another consumer takes over")
    max_deliveries: int = Field(default=5, ge=1, le=1000, description="failures before an event is dead-lettered")
    broker: BrokerSettings = BrokerSettings()

    @model_validator(mode="after")
    def _replay_outlives_tolerance(self) -> EventsSettings:
        if self.replay_ttl_s <= 2 * self.tolerance_s:
            raise ValueError(
                "events.replay_ttl_s must exceed twice events.tolerance_s: a replay within the timestamp "
                "tolerance must still find its id"
            )
        return self
