"""The log redaction processor: key names, secret shapes, known secret values, nested and in exceptions."""

from __future__ import annotations

import logging
import sys
from typing import Any

import structlog
from canary import CANARY, CANARY_CREDENTIALS

from clients.secrets import StaticSecret
from mobius.logging import REDACTED, RedactFilter, redact_event


def process(**event: Any) -> dict[str, Any]:
    """The event as the configured chain renders it (exceptions formatted, then redacted)."""
    formatted = structlog.processors.format_exc_info(None, "error", dict(event))
    return dict(redact_event(None, "error", formatted))


def test_sensitive_key_names_are_blanked_at_every_depth() -> None:
    event = process(
        request={"headers": {"Authorization": "Basic abc", "X-Api-Key": "k", "Accept": "json"}},
        attempts=[{"client_secret": "s"}, ({"refresh_token": "r"},)],
        signature="t=1,v1=00",
    )

    assert event["signature"] == REDACTED
    assert event["request"]["headers"] == {"Authorization": REDACTED, "X-Api-Key": REDACTED, "Accept": "json"}
    assert event["attempts"] == [{"client_secret": REDACTED}, [{"refresh_token": REDACTED}]]


def test_secret_shaped_values_are_masked_under_innocent_keys() -> None:
    jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl"
    event = process(
        detail="sent Bearer abc.def-123 and Basic bW9iaXVzOnNlY3JldA==",
        url="https://b.example/v1/x?api_key=plainvalue&org=1",
        note=f"key sk_live_abc123 sig v1={'ab' * 16} jwt {jwt} digest {'f' * 64}",
        kv='{"access_token": "opaque-value", "password": "hunter2"}',
        items={"tags": ("Bearer zzz",)},
    )

    text = repr(event)
    for secret in ("abc.def-123", "bW9iaXVz", "plainvalue", "sk_live", "ab" * 16, jwt, "f" * 64, "opaque-value"):
        assert secret not in text, secret
    assert "hunter2" not in text
    assert "org=1" in event["url"]


def test_every_value_a_source_revealed_is_masked_whatever_its_shape() -> None:
    StaticSecret(CANARY_CREDENTIALS.projects.token)

    event = process(message=f"upstream said: unknown token {CANARY_CREDENTIALS.projects.token}!", count=3)

    assert CANARY not in repr(event)
    assert event["count"] == 3


def test_exception_text_is_redacted() -> None:
    StaticSecret(CANARY_CREDENTIALS.billing.api_key)
    try:
        raise RuntimeError(f"refused {CANARY_CREDENTIALS.billing.api_key} with Bearer xyz")
    except RuntimeError:
        event = process(event="resolver_failed", exc_info=sys.exc_info(), error=sys.exc_info()[1])

    assert "RuntimeError" in event["exception"]
    assert CANARY not in repr(event)
    assert "xyz" not in repr(event)


def test_standard_library_records_are_redacted_with_their_exceptions() -> None:
    StaticSecret(CANARY_CREDENTIALS.identity.client_secret)
    try:
        raise ValueError(CANARY_CREDENTIALS.identity.client_secret)
    except ValueError:
        record = logging.LogRecord(
            "aiohttp.client", logging.ERROR, __file__, 1, "token=%s failed", ("abc",), sys.exc_info()
        )

    assert RedactFilter().filter(record)

    rendered = logging.Formatter().format(record)
    assert "token=[redacted] failed" in rendered
    assert "ValueError" in rendered
    assert CANARY not in rendered
