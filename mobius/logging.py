"""structlog set-up: events are dicts; secrets and PII are redacted before rendering.

Redaction works three ways, on every level of nested dicts, lists, tuples and sets and on
rendered exception text: values under sensitive key names are blanked; secret-shaped text
(``Bearer ...``, ``Basic ...``, ``sk_...``, ``v1=<hex>``, JWTs, ``token=...``-style pairs,
long hex runs) is masked; and every value a secret source has revealed in this process is
masked wherever it appears. Standard-library records get the same treatment via ``RedactFilter``.

Logged text is often the client's or an upstream's, so redaction cannot be stalled by it: text is
cut to ``MAX_TEXT`` characters and each line to ``MAX_LINE`` before any pattern runs, keys to
``MAX_KEY``, nesting to ``MAX_NESTING`` levels and containers to ``MAX_ITEMS`` entries; and every
pattern runs in linear time (possessive quantifiers, a match starts only at the start of a run).
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Iterable, Iterator, MutableMapping
from itertools import islice
from typing import Any, Literal, TypeVar

import structlog
from mypy_extensions import mypyc_attr

from clients.memo import keep
from clients.secrets import revealed_values
from mobius.settings import LogSettings
from mobius.telemetry.logs import (
    VERBATIM,
    IsoTimeStamper,
    JsonLines,
    LevelByName,
    NamedLogger,
    level_filter,
    named_logger,
)

T = TypeVar("T")
REDACTED = "[redacted]"
MAX_TEXT = 32_768
MAX_LINE = 4096
MAX_KEY = 256
MAX_NESTING = 32
MAX_ITEMS = 200
_SENSITIVE_KEYS = re.compile(
    r"authorization|signature|token|secret|password|passwd|api[_-]?key|cookie|credential|private[_-]?key"
    r"|email|phone",
    re.IGNORECASE,
)
_SECRET_LOOKING = re.compile(
    r"(?:Bearer|Basic)\s++[^\s\"',;]++"
    r"|(?<!\w)sk_[A-Za-z0-9_]++"
    r"|(?<!\w)v1=[0-9a-f]{16,}+"
    r"|(?<![\w-])eyJ[\w-]++\.[\w-]++\.[\w-]*+"
    r"|(?<!\w)[0-9a-f]{40,}+(?!\w)",
    re.IGNORECASE,
)
_PAIR_KEY = re.compile(r"(?<![\w-])([\w-]++)[\"']?\s*+[=:]\s*+[\"']?")
"""A ``key=`` or ``"key": "`` (the key starts where a run of word characters starts)."""
_PAIR_VALUE = re.compile(r"[^\s\"'&,;)}\]]++")
_PLAIN_WORD = re.compile(r"[A-Za-z0-9-]{0,39}")
"""Text no pattern above can match (each needs a space, ``_``, ``=``, ``:``, ``.`` or 40 characters):
a caller's or an operation's name, mostly, checked in one pass instead of the patterns' many."""
_SECRET_KEY_NAME = re.compile(r"token|secret|password|passwd|api[_-]?key|signature|authorization", re.IGNORECASE)


def redact_text(text: str) -> str:
    for value in revealed_values():
        if value in text:
            text = text.replace(value, REDACTED)
    text = _cut(text, MAX_TEXT)
    if "\n" not in text:
        return _redact_line(_cut(text, MAX_LINE))
    return _cut("\n".join(_redact_line(_cut(line, MAX_LINE)) for line in text.split("\n")), MAX_TEXT)


def _cut(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return f"{text[:limit]}...[{len(text) - limit} more characters]"


def _redact_line(line: str) -> str:
    if _PLAIN_WORD.fullmatch(line):
        return line
    return _redact_pairs(_SECRET_LOOKING.sub(REDACTED, line))


def _redact_pairs(line: str) -> str:
    """Masks the value of each ``key=value`` pair whose key names a secret."""
    pieces: list[str] = []
    copied = position = 0
    search = _PAIR_KEY.search
    while (pair := search(line, position)) is not None:
        position = pair.end()
        if not _SECRET_KEY_NAME.search(pair.group(1)):
            continue
        value = _PAIR_VALUE.match(line, position)
        if value is None:
            continue
        pieces += (line[copied:position], REDACTED)
        copied = position = value.end()
    return "".join(pieces) + line[copied:] if pieces else line


_PLAIN = frozenset({type(None), bool, int, float})
"""Values with nothing to redact, answered before any ``isinstance`` check."""
_CONTAINERS = (dict, list, tuple, set, frozenset)


def redact(value: Any, depth: int = 0) -> Any:
    if type(value) in _PLAIN:
        return value
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, bytes):
        return redact_text(value[: MAX_TEXT * 4].decode("utf-8", "replace"))
    if isinstance(value, BaseException):
        return redact_text(f"{type(value).__name__}: {value}")
    if isinstance(value, _CONTAINERS):
        return "[nested too deep]" if depth >= MAX_NESTING else _redact_container(value, depth + 1)
    return value


def _redact_container(value: Any, depth: int) -> Any:
    if isinstance(value, dict):
        redacted = {
            _key(key): REDACTED if _sensitive(str(key)) else redact(item, depth) for key, item in _first(value.items())
        }
        if len(value) > MAX_ITEMS:
            redacted["..."] = f"{len(value) - MAX_ITEMS} more entries"
        return redacted
    items = [redact(item, depth) for item in _first(value)]
    if len(value) > MAX_ITEMS:
        items.append(f"...{len(value) - MAX_ITEMS} more items")
    return items


def _first(items: Iterable[T]) -> Iterator[T]:
    return islice(items, MAX_ITEMS)


def _sensitive(key: str) -> bool:
    """A key naming a secret or PII, or too long to tell (its value is blanked either way)."""
    return len(key) > MAX_KEY or _names_secret(key)


@functools.lru_cache(maxsize=1024)
def _names_secret(key: str) -> bool:
    """Remembered for the last 1,024 key names: an event's keys repeat from one event to the next."""
    return _SENSITIVE_KEYS.search(key) is not None


def _key(key: Any) -> Any:
    return _cut(key, MAX_KEY) if isinstance(key, str) else key


def redact_event(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """A structlog processor: sensitive keys are blanked, secret-looking strings masked (except the
    values the gateway wrote itself and marked verbatim)."""
    for key, value in list(event.items()):
        if isinstance(value, VERBATIM):
            continue
        if _sensitive(key):
            event[key] = REDACTED
        elif type(value) not in _PLAIN:
            event[key] = redact(value)
    return event


@mypyc_attr(native_class=False)  # compiled, a subclass of the standard library's Filter must stay a Python class
class RedactFilter(logging.Filter):
    """Redacts a standard-library record's rendered message and exception text in place."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact_text(record.getMessage())
        record.args = None
        if record.exc_info:
            record.exc_text = redact_text(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


class _RedactedTexts:
    """Short texts redacted, remembered while the values sources revealed stay the same (the one
    frozen set ``revealed_values`` answers until a new value comes): a caller's name is logged on
    every request it makes. Started afresh when full."""

    def __init__(self) -> None:
        self.revealed = revealed_values()
        self.texts: dict[str, str] = {}

    def __call__(self, text: str) -> str:
        if len(text) > MAX_REMEMBERED_TEXT:
            return redact_text(text)
        revealed = revealed_values()
        if revealed is not self.revealed:
            self.revealed = revealed
            self.texts = {}
        redacted = self.texts.get(text)
        if redacted is None:
            redacted = keep(self.texts, text, redact_text(text), MAX_REMEMBERED_TEXTS)
        return redacted


MAX_REMEMBERED_TEXT = 128
MAX_REMEMBERED_TEXTS = 1024
_redacted_short_text = _RedactedTexts()


class JsonChain:
    """The JSON chain ``configure_logging`` installs, run as one call for the request log's event
    (structlog's bound logger copies its context and calls six processors through Python frames:
    about a sixth of a ``{ __typename }`` request). It writes the line the chain writes, and only
    while structlog still runs that chain (a test's ``capture_logs`` swaps it in place)."""

    def __init__(self, processors: list[Any], by_name: LevelByName, stamper: IsoTimeStamper, renderer: JsonLines):
        self.processors = processors
        """The very list structlog was given: it keeps it, and ``capture_logs`` edits it in place."""
        self.installed = list(processors)
        self.by_name = by_name
        self.stamper = stamper
        self.renderer = renderer
        self._loggers: dict[str, NamedLogger] = {}

    def write_info(
        self, name: str, event_name: str, fields: dict[str, Any], client_text: tuple[str, ...] | None = None
    ) -> bool:
        """Log ``fields`` (the caller's own dict, without ``exc_info``) as ``log.info(event_name,
        **fields)`` on logger ``name`` would; ``False`` if structlog runs another chain now.

        ``client_text``: the only keys whose values the redaction has to look at, when the caller
        knows that no key of ``fields`` names a secret and that every other value is plain
        (``None``, a number) or verbatim; the line is the one the whole redaction writes."""
        processors = structlog.get_config()["processors"]
        if processors is not self.processors or processors != self.installed:
            return False
        logger = self._loggers.get(name)
        if logger is None:
            logger = self._loggers[name] = named_logger(name)
        fields["event"] = event_name
        try:
            event = self.by_name(logger, "info", fields)
        except structlog.DropEvent:
            return True
        if client_text is None:
            event = redact_event(logger, "info", event)
        else:
            for key in client_text:
                value = event[key]
                if not value or type(value) in _PLAIN or isinstance(value, VERBATIM):
                    continue  # empty text or an empty list has nothing to redact
                event[key] = _redacted_short_text(value) if type(value) is str else redact(value)
        event["level"] = "info"
        logger.msg(self.renderer(logger, "info", self.stamper(logger, "info", event)))
        return True


_installed: dict[str, JsonChain] = {}
"""The chain ``configure_logging`` installed last, under ``json`` while it writes JSON lines."""


def json_chain() -> JsonChain | None:
    return _installed.get("json")


def configure_logging(log_format: Literal["json", "console"] = "json", logs: LogSettings | None = None) -> None:
    by_name = level_filter(logs or LogSettings())
    stamper = IsoTimeStamper()
    renderer = JsonLines() if log_format == "json" else None
    processors: list[Any] = [
        by_name,
        structlog.processors.format_exc_info,
        redact_event,  # before the level and time are added: nothing to redact in those
        structlog.processors.add_log_level,
        stamper,
        structlog.dev.ConsoleRenderer() if renderer is None else renderer,
    ]
    structlog.configure(
        processors=processors,
        wrapper_class=structlog.make_filtering_bound_logger(by_name.lowest),
        logger_factory=named_logger,
        cache_logger_on_first_use=True,
    )
    _installed.clear()
    if renderer is not None:
        _installed["json"] = JsonChain(processors, by_name, stamper, renderer)
    logging.basicConfig(level=by_name.default, format="%(levelname)s %(name)s %(message)s")
    for handler in logging.getLogger().handlers:
        handler.addFilter(RedactFilter())
