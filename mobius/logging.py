"""structlog set-up: events are dicts; secrets and PII are redacted before rendering."""

from __future__ import annotations

import logging
import re
from collections.abc import MutableMapping
from typing import Any, Literal

import structlog

REDACTED = "[redacted]"
_SENSITIVE_KEYS = re.compile(
    r"authorization|signature|token|secret|password|api[_-]?key|cookie|email|phone", re.IGNORECASE
)
_SECRET_LOOKING = re.compile(r"(Bearer\s+\S+|sk_[A-Za-z0-9_]+|v1=[0-9a-f]{16,})", re.IGNORECASE)


def redact(value: Any) -> Any:
    if isinstance(value, str):
        return _SECRET_LOOKING.sub(REDACTED, value)
    if isinstance(value, dict):
        return {key: REDACTED if _SENSITIVE_KEYS.search(str(key)) else redact(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [redact(item) for item in value]
    return value


def redact_event(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """A structlog processor: sensitive keys are blanked, secret-looking strings masked."""
    for key, value in list(event.items()):
        event[key] = REDACTED if _SENSITIVE_KEYS.search(key) else redact(value)
    return event


def configure_logging(log_format: Literal["json", "console"] = "json", level: int = logging.INFO) -> None:
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer() if log_format == "json" else structlog.dev.ConsoleRenderer()
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            redact_event,
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        cache_logger_on_first_use=True,
    )
