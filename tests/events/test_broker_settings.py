"""events.broker: off unless asked for, refused without a URL, one consumer when on."""

from __future__ import annotations

import pytest

from mobius.demo import sandbox_upstreams
from mobius.events.sources.configured import configured_sources
from mobius.events.sources.rabbitmq import RabbitMqSource
from mobius.settings import ConfigError, Settings, load_settings
from sandbox import SandboxCredentials, SandboxUrls

URLS = SandboxUrls(dict.fromkeys(("identity", "billing", "projects", "support", "ledger"), "http://127.0.0.1:9"))


def settings(**events: object) -> Settings:
    return load_settings(upstreams=sandbox_upstreams(URLS, SandboxCredentials()), events=events)


def test_no_broker_consumer_unless_enabled() -> None:
    assert configured_sources(settings()) == ()
    assert configured_sources(settings(broker={"url": "amqp://guest:guest@127.0.0.1:5672/%2F"})) == ()


def test_enabled_without_a_url_is_refused_naming_the_key() -> None:
    with pytest.raises(ConfigError, match=r"events\.broker\.enabled needs events\.broker\.url"):
        settings(broker={"enabled": True})


def test_enabled_builds_one_consumer_of_the_configured_queue() -> None:
    [source] = configured_sources(
        settings(broker={"enabled": True, "url": {"env": "MOBIUS_TEST_AMQP_URL"}, "queue": "q", "prefetch": 5})
    )
    assert isinstance(source, RabbitMqSource)
    assert (source.name, source.config.queue, source.config.prefetch) == ("projects-rabbitmq", "q", 5)
    assert source.config.routing_keys == ("projects.issue.*",)


@pytest.mark.parametrize(
    ("broker", "key"),
    [
        ({"prefetch": 0}, "prefetch"),
        ({"max_message_bytes": 10}, "max_message_bytes"),
        ({"routing_keys": []}, "routing_keys"),
    ],
)
def test_out_of_range_values_are_refused_naming_the_key(broker: dict[str, object], key: str) -> None:
    with pytest.raises(ConfigError, match=rf"events\.broker\.{key}"):
        settings(broker=broker)
