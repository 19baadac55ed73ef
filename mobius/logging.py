"""structlog set-up: events are dicts; secrets and PII are redacted before rendering.

Redaction works three ways, on every level of nested dicts, lists, tuples and sets and on
rendered exception text: values under sensitive key names are blanked; secret-shaped text
(``Bearer ...``, ``Basic ...``, ``sk_...``, ``v1=<hex>``, JWTs, ``token=...``-style pairs,
long hex runs) is masked; and every value a secret source has revealed in this process is
masked wherever it appears. Standard-library records get the same treatment via ``RedactFilter``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import MutableMapping
from typing import Any, Literal

import structlog

from clients.secrets import revealed_values
from mobius.settings import LogSettings
from mobius.telemetry.logs import VERBATIM, level_filter, named_logger

REDACTED = "[redacted]"
_SENSITIVE_KEYS = re.compile(
    r"authorization|signature|token|secret|password|passwd|api[_-]?key|cookie|credential|private[_-]?key"
    r"|email|phone",
    re.IGNORECASE,
)
_SECRET_LOOKING = re.compile(
    r"(?:Bearer|Basic)\s+[^\s\"',;]+"
    r"|\bsk_[A-Za-z0-9_]+"
    r"|\bv1=[0-9a-f]{16,}"
    r"|\beyJ[\w-]+\.[\w-]+\.[\w-]*"
    r"|\b[0-9a-f]{40,}\b",
    re.IGNORECASE,
)
_SECRET_PAIR = re.compile(
    r"((?:[\w-]*(?:token|secret|password|passwd|api[_-]?key|signature|authorization)[\w-]*)[\"']?\s*[=:]\s*[\"']?)"
    r"[^\s\"'&,;)}\]]+",
    re.IGNORECASE,
)


def redact_text(text: str) -> str:
    for value in revealed_values():
        if value in text:
            text = text.replace(value, REDACTED)
    text = _SECRET_PAIR.sub(lambda match: match.group(1) + REDACTED, text)
    return _SECRET_LOOKING.sub(REDACTED, text)


def redact(value: Any) -> Any:
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, bytes):
        return redact_text(value.decode("utf-8", "replace"))
    if isinstance(value, BaseException):
        return redact_text(f"{type(value).__name__}: {value}")
    if isinstance(value, dict):
        return {key: REDACTED if _SENSITIVE_KEYS.search(str(key)) else redact(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [redact(item) for item in value]
    return value


def redact_event(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """A structlog processor: sensitive keys are blanked, secret-looking strings masked (except the
    values the gateway wrote itself and marked verbatim)."""
    for key, value in list(event.items()):
        if not isinstance(value, VERBATIM):
            event[key] = REDACTED if _SENSITIVE_KEYS.search(key) else redact(value)
    return event


class RedactFilter(logging.Filter):
    """Redacts a standard-library record's rendered message and exception text in place."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact_text(record.getMessage())
        record.args = None
        if record.exc_info:
            record.exc_text = redact_text(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


def configure_logging(log_format: Literal["json", "console"] = "json", logs: LogSettings | None = None) -> None:
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer() if log_format == "json" else structlog.dev.ConsoleRenderer()
    )
    by_name = level_filter(logs or LogSettings())
    structlog.configure(
        processors=[
            by_name,
            structlog.contextvars.merge_contextvars,
            structlog.processors.format_exc_info,
            redact_event,  # before the level and time are added: nothing to redact in those
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(by_name.lowest),
        logger_factory=named_logger,
        cache_logger_on_first_use=True,
    )
    logging.basicConfig(level=by_name.default, format="%(levelname)s %(name)s %(message)s")
    for handler in logging.getLogger().handlers:
        handler.addFilter(RedactFilter())
