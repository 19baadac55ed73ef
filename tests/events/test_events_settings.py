"""The ``events`` and ``upstreams.<name>.webhook`` settings refuse what cannot work, naming the key."""

from __future__ import annotations

import pytest
from events_support import webhook_settings

from mobius.events.intake import declared_intakes
from mobius.settings import ConfigError
from sandbox import SandboxCredentials, SandboxUrls


def test_replays_must_be_remembered_past_the_timestamp_tolerance(
    sandbox_server: tuple[SandboxUrls, SandboxCredentials],
) -> None:
    with pytest.raises(ConfigError, match=r"events\.replay_ttl_s must exceed twice events\.tolerance_s"):
        webhook_settings(sandbox_server, redis=None, events={"tolerance_s": 600, "replay_ttl_s": 900})


def test_only_upstreams_with_a_declared_scheme_and_a_secret_take_webhooks(
    sandbox_server: tuple[SandboxUrls, SandboxCredentials],
) -> None:
    intakes = declared_intakes(webhook_settings(sandbox_server, redis=None))
    assert {name: intake.webhook.scheme for name, intake in intakes.items()} == {
        "billing": "standard_webhooks",
        "projects": "github_hmac_sha256",
        "support": "github_hmac_sha256",
    }
    assert [len(intakes[name].secrets) for name in ("billing", "projects")] == [2, 1]
