"""Log levels per logger name: ``telemetry.logs.levels: {mobius.requests: warning}`` quiets one
logger (and the loggers below it: ``mobius`` covers ``mobius.breaker``) and leaves the others at
``telemetry.logs.level``."""

from __future__ import annotations

import json
import logging
import sys
import threading
import time
from collections.abc import Mapping, MutableMapping
from datetime import UTC, datetime
from typing import Any

import orjson
import structlog
from mypy_extensions import mypyc_attr

from mobius.settings import LogSettings

_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR}
_LEVELS["critical"] = logging.CRITICAL
_METHODS = {**_LEVELS, "warn": logging.WARNING, "exception": logging.ERROR, "fatal": logging.CRITICAL}


@mypyc_attr(native_class=False)  # compiled, a subclass of str must stay a Python class
class Verbatim(str):
    """Text the gateway wrote itself (a declared route, an upstream's name, a digest): logged as it
    is, without the redactor's scan, which would cost more than the rest of a request's log event
    and mask a digest as secret-looking hex."""

    __slots__ = ()


@mypyc_attr(native_class=False)  # compiled, a subclass of tuple must stay a Python class
class VerbatimRows(tuple[dict[str, Any], ...]):
    """Rows of values the gateway wrote itself (a request's upstream calls), logged as they are."""

    __slots__ = ()


VERBATIM = (Verbatim, VerbatimRows)
"""What the redactor passes through untouched."""


_WRITE_LOCK = threading.Lock()
"""One line at a time from any thread, whichever logger writes it."""


class NamedLogger:
    """structlog's logger (what ``structlog.get_logger(name)`` wraps), knowing the name it was asked
    for; each level's method writes the rendered line. A class of its own rather than a subclass of
    structlog's ``PrintLogger``, so that this module compiles."""

    def __init__(self, name: str) -> None:
        self.name = name

    def msg(self, message: str) -> None:
        """The line and its newline in one write to the ``sys.stdout`` of the moment (``print`` writes
        them apart where stdout is unbuffered, as ``PYTHONUNBUFFERED`` has it in the image)."""
        out = sys.stdout
        with _WRITE_LOCK:
            out.write(message + "\n")
            out.flush()

    def log(self, message: str) -> None:
        self.msg(message)

    def debug(self, message: str) -> None:
        self.msg(message)

    def info(self, message: str) -> None:
        self.msg(message)

    def warn(self, message: str) -> None:
        self.msg(message)

    def warning(self, message: str) -> None:
        self.msg(message)

    def fatal(self, message: str) -> None:
        self.msg(message)

    def failure(self, message: str) -> None:
        self.msg(message)

    def err(self, message: str) -> None:
        self.msg(message)

    def error(self, message: str) -> None:
        self.msg(message)

    def critical(self, message: str) -> None:
        self.msg(message)

    def exception(self, message: str) -> None:
        self.msg(message)


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
        self._resolved: dict[str, tuple[int, Verbatim]] = {}

    def __call__(self, logger: Any, method_name: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
        """Drop the event, or pass it on with its logger's name (``logger``, verbatim: a name in our code)."""
        name = getattr(logger, "name", "")
        resolved = self._resolved.get(name)
        if resolved is None:
            resolved = self._resolved[name] = (self._threshold(name), Verbatim(name))
        if _METHODS.get(method_name, logging.INFO) < resolved[0]:
            raise structlog.DropEvent
        if name:
            event.setdefault("logger", resolved[1])
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


class IsoTimeStamper:
    """A processor adding ``timestamp`` as structlog's ``TimeStamper(fmt="iso", utc=True)`` writes
    it (``2026-01-31T12:34:56.789012Z``, no fraction at a whole second), formatting the date and
    time of day once per second."""

    def __init__(self) -> None:
        self._second: tuple[int, str] = (-1, "")
        """The last second stamped and its text, replaced as one value (loggers in threads share it)."""

    def __call__(self, _: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
        second, micros = divmod(time.time_ns() // 1000, 1_000_000)
        stamped, text = self._second
        if second != stamped:
            text = datetime.fromtimestamp(second, UTC).isoformat()[:-6]  # without "+00:00"
            self._second = (second, text)
        # The six digits as the text of a seven-digit number: compiled, a format spec is a Python call.
        event["timestamp"] = f"{text}.{str(1_000_000 + micros)[1:]}Z" if micros else f"{text}Z"
        return event


class JsonLines:
    """A renderer writing an event as one line of JSON (what structlog's ``JSONRenderer()`` writes,
    without the blanks after separators and with text in UTF-8) with orjson; an event orjson
    cannot encode (an integer past 64 bits, a key that is not text) goes through the standard
    library's encoder, made once, as ``JSONRenderer()`` writes it."""

    def __init__(self) -> None:
        self._encode = json.JSONEncoder(default=_unencodable).encode

    def __call__(self, _: Any, __: str, event: MutableMapping[str, Any]) -> str:
        try:
            return orjson.dumps(event, default=_orjson_default).decode()
        except orjson.JSONEncodeError:
            return self._encode(event)


def _orjson_default(value: Any) -> Any:
    """What orjson does not encode itself: a tuple's subclass as a list (as ``json`` writes it),
    anything else as ``JSONRenderer()`` has it."""
    if isinstance(value, tuple):
        return list(value)
    return _unencodable(value)


def _unencodable(value: Any) -> Any:
    """As structlog's renderer has it: the value's ``__structlog__()``, else its ``repr``."""
    try:
        return value.__structlog__()
    except AttributeError:
        return repr(value)
