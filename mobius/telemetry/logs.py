"""Log levels per logger name: ``telemetry.logs.levels: {mobius.requests: warning}`` quiets one
logger (and the loggers below it: ``mobius`` covers ``mobius.breaker``) and leaves the others at
``telemetry.logs.level``."""

from __future__ import annotations

import logging
from collections.abc import Mapping, MutableMapping
from typing import Any

import structlog

from mobius.settings import LogSettings

_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR}
_LEVELS["critical"] = logging.CRITICAL
_METHODS = {**_LEVELS, "warn": logging.WARNING, "exception": logging.ERROR, "fatal": logging.CRITICAL}


class Verbatim(str):
    """Text the gateway wrote itself (a declared route, an upstream's name, a digest): logged as it
    is, without the redactor's scan, which would cost more than the rest of a request's log event
    and mask a digest as secret-looking hex."""

    __slots__ = ()


class VerbatimRows(tuple[dict[str, Any], ...]):
    """Rows of values the gateway wrote itself (a request's upstream calls), logged as they are."""

    __slots__ = ()


VERBATIM = (Verbatim, VerbatimRows)
"""What the redactor passes through untouched."""


class NamedLogger(structlog.PrintLogger):
    """structlog's print logger, knowing the name it was asked for (``structlog.get_logger(name)``)."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name


def named_logger(*args: Any) -> NamedLogger:
    """The logger factory: ``structlog.get_logger("mobius.breaker")`` passes the name here."""
    return NamedLogger(args[0] if args and isinstance(args[0], str) else "")


class LevelByName:
    """A processor dropping events below their logger's level (its longest configured prefix)."""

    def __init__(self, default: int, levels: Mapping[str, int]) -> None:
        self.default = default
        self.levels = dict(levels)
        self.lowest = min([default, *levels.values()])
        """What structlog's own filter lets through: the lowest level of any logger."""
        self._resolved: dict[str, int] = {}

    def __call__(self, logger: Any, method_name: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
        """Drop the event, or pass it on with its logger's name (``logger``)."""
        name = getattr(logger, "name", "")
        threshold = self._resolved.get(name)
        if threshold is None:
            threshold = self._resolved[name] = self._threshold(name)
        if _METHODS.get(method_name, logging.INFO) < threshold:
            raise structlog.DropEvent
        if name:
            event.setdefault("logger", name)
        return event

    def _threshold(self, name: str) -> int:
        best, best_length = self.default, -1
        for prefix, level in self.levels.items():
            matches = name == prefix or name.startswith(prefix + ".")
            if matches and len(prefix) > best_length:
                best, best_length = level, len(prefix)
        return best


def level_filter(settings: LogSettings) -> LevelByName:
    """The per-name processor; standard-library loggers of the configured names get their levels too."""
    levels = {name: _LEVELS[level] for name, level in settings.levels.items()}
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)
    return LevelByName(_LEVELS[settings.level], levels)
