"""Metrics and logs."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from mobius.settings.base import Strict

LogLevel = Literal["debug", "info", "warning", "error", "critical"]


class MetricsSettings(Strict):
    enabled: bool = Field(default=True, description="record metrics and serve them at `path`")
    path: str = Field(default="/metrics", pattern=r"^/[A-Za-z0-9/_.-]*$")
    operation_names: int = Field(
        default=200, ge=0, le=10_000, description="distinct operation names labelled per process; later ones: other"
    )
    multiprocess_dir: Path | None = Field(
        default=None,
        description="with --workers N: where workers keep their values (emptied at start; default: a temporary one)",
    )


class LogSettings(Strict):
    level: LogLevel = "info"
    levels: dict[str, LogLevel] = Field(
        default={}, description="per logger name (and the loggers below it), e.g. {mobius.requests: warning}"
    )
    requests: bool = Field(default=True, description="one `request` event per GraphQL request")


class TelemetrySettings(Strict):
    """Metrics and logs; traces are configured by the standard ``OTEL_*`` variables (docs/observability.md)."""

    metrics: MetricsSettings = MetricsSettings()
    logs: LogSettings = LogSettings()
