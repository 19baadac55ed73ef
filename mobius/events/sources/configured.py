"""The event sources the settings ask for, built once; each runs beside the stream's worker."""

from __future__ import annotations

from clients.registry import registry
from mobius.events.sources.base import EventSource
from mobius.events.sources.messages import MessageReader
from mobius.events.sources.reconnect import Backoff
from mobius.settings import ConfigError, Settings
from mobius.upstreams import secret_source

BROKER_UPSTREAM = "projects"
"""The upstream whose events the broker carries (docs/events-broker.md)."""


def configured_sources(settings: Settings) -> tuple[EventSource, ...]:
    broker = settings.events.broker
    if not broker.enabled or broker.url is None:
        return ()
    from mobius.events.sources.rabbitmq import RabbitMqConfig, RabbitMqSource  # aio-pika only when used

    declared = registry()
    upstream = declared.upstream(BROKER_UPSTREAM)
    if upstream is None:
        raise ConfigError(f"events.broker carries the events of the {BROKER_UPSTREAM} upstream, which is not declared")
    webhook = declared.vendor(upstream, settings.upstreams[BROKER_UPSTREAM].vendor).webhook
    if webhook is None:
        raise ConfigError(f"events.broker: the {BROKER_UPSTREAM} vendor declares no event parse (webhook)")
    reconnect = broker.reconnect
    config = RabbitMqConfig(
        url=secret_source(broker.url),
        exchange=broker.exchange,
        queue=broker.queue,
        routing_keys=broker.routing_keys,
        prefetch=broker.prefetch,
        reader=MessageReader(source=BROKER_UPSTREAM, parse=webhook.parse, max_bytes=broker.max_message_bytes),
        connect_timeout_s=broker.connect_timeout_s,
        backoff=Backoff(
            initial_s=reconnect.initial_s,
            max_s=reconnect.max_s,
            multiplier=reconnect.multiplier,
            jitter=reconnect.jitter,
        ),
        name=f"{BROKER_UPSTREAM}-rabbitmq",
    )
    return (RabbitMqSource(config),)
