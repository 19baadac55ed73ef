"""Observability of the server: metrics at ``/metrics``, traces by the ``OTEL_*`` variables, one
log event per request (docs/observability.md).

The metrics themselves are declared once per layer: ``clients.telemetry`` (upstreams, loaders,
caches), ``schema.telemetry`` (GraphQL operations) and ``mobius.telemetry.requests`` (HTTP).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from starlette.applications import Starlette
from starlette.types import ASGIApp

from clients import telemetry
from mobius.settings import TelemetrySettings
from mobius.telemetry.exposition import metrics_endpoint, name_process_metrics
from mobius.telemetry.multiprocess import worker_stopped
from mobius.telemetry.requests import RequestTelemetry
from mobius.telemetry.tracing import start_tracing, stop_tracing, tracing_exporters
from schema.telemetry import OperationTelemetry


@dataclass(frozen=True, slots=True)
class Telemetry:
    settings: TelemetrySettings
    operations: OperationTelemetry
    tracing: bool

    def mount(self, app: Starlette, *, paths: Mapping[str, str]) -> None:
        """Observe requests to ``paths`` (as the outermost middleware; see ``RequestTelemetry``) and
        serve the metrics."""
        app.add_middleware(RequestTelemetry, paths=paths, log_requests=self.settings.logs.requests)
        if self.settings.metrics.enabled:
            app.add_route(self.settings.metrics.path, metrics_endpoint, methods=["GET"], include_in_schema=False)

    def observe(self, app: ASGIApp, *, paths: Mapping[str, str]) -> ASGIApp:
        """``app`` with its requests to ``paths`` observed (see ``RequestTelemetry``)."""
        return RequestTelemetry(app, paths=paths, log_requests=self.settings.logs.requests)

    def start(self) -> None:
        """At the server's start: install the tracer provider the environment asks for."""
        if self.tracing:
            start_tracing()

    def stop(self) -> None:
        """At the server's end, after in-flight requests are answered: flush spans, leave the shared view."""
        stop_tracing()
        worker_stopped()


def build_telemetry(settings: TelemetrySettings, env: Mapping[str, str] = os.environ) -> Telemetry:
    """Called first by the app factory: the parts built after it take their instruments accordingly."""
    tracing = bool(tracing_exporters(env))
    name_process_metrics()
    telemetry.configure(metrics=settings.metrics.enabled, tracing=telemetry.tracing_on())
    return Telemetry(
        settings=settings,
        operations=OperationTelemetry(names_limit=settings.metrics.operation_names),
        tracing=tracing,
    )
