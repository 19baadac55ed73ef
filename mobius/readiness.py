"""Startup honesty: every credential the configuration reads from a file or the environment at
use (upstream auth, callers) is checked at start (each unreadable one logged, naming its setting)
and on every readiness probe, which answers 503 with the reasons until each can be read again.
A reason names the setting and where its value should come from, never the value.

``redis.url`` is read once, to build the Redis clients: one that cannot be read stops the start
(``require_readable``), naming the setting.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import structlog
from pydantic import BaseModel

from clients.secrets import SecretSource, SecretUnavailable
from mobius.settings import ConfigError, SecretRef, Settings
from mobius.upstreams import secret_source

log = structlog.get_logger("mobius.readiness")

READ_AT_START = frozenset({"redis.url"})


@dataclass(frozen=True, slots=True)
class SecretCheck:
    setting: str
    """Where the reference sits in the settings, e.g. ``upstreams.billing.auth.signing_secret``."""
    source: SecretSource

    def problem(self) -> str | None:
        try:
            self.source.reveal()
        except SecretUnavailable as exc:
            return str(exc)
        return None


def secret_references(node: BaseModel, path: str = "") -> Iterator[tuple[str, SecretRef]]:
    """Every ``SecretRef`` in the settings, with its dotted path (``callers[0].token``)."""
    for name, value in node:
        here = f"{path}.{name}" if path else name
        yield from _references(value, here)


def _references(value: object, path: str) -> Iterator[tuple[str, SecretRef]]:
    if isinstance(value, SecretRef):
        yield path, value
    elif isinstance(value, BaseModel):
        yield from secret_references(value, path)
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from _references(item, f"{path}[{index}]")


class Readiness:
    """What keeps the gateway from serving correctly: unreadable secrets, and whatever else is
    registered with ``add`` (a name and a function returning a problem or ``None``)."""

    def __init__(self, settings: Settings) -> None:
        self.checks = [
            SecretCheck(setting, secret_source(ref))
            for setting, ref in secret_references(settings)
            if ref.value is None and setting not in READ_AT_START
        ]
        self.others: list[tuple[str, Callable[[], str | None]]] = []

    def add(self, setting: str, problem: Callable[[], str | None]) -> None:
        self.others.append((setting, problem))

    def problems(self) -> dict[str, str]:
        found = {check.setting: check.problem() for check in self.checks}
        found.update({setting: problem() for setting, problem in self.others})
        return {setting: problem for setting, problem in found.items() if problem is not None}

    def log_problems(self) -> None:
        for setting, problem in self.problems().items():
            log.error("not_ready", setting=setting, reason=problem)


def require_readable(settings: Settings) -> None:
    """Stop the start when a secret read only at start (``redis.url``) cannot be read."""
    for setting, ref in secret_references(settings):
        if setting in READ_AT_START and ref.value is None:
            problem = SecretCheck(setting, secret_source(ref)).problem()
            if problem is not None:
                raise ConfigError(f"{setting}: {problem}")
