"""Traces by the standard ``OTEL_*`` variables, off unless they ask for an exporter.

``OTEL_TRACES_EXPORTER=otlp`` (OTLP over HTTP/protobuf; ``console`` prints spans) turns tracing
on; the exporter reads ``OTEL_EXPORTER_OTLP_ENDPOINT`` / ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``,
``..._HEADERS``, ``..._TIMEOUT`` and ``..._COMPRESSION``; the batch processor ``OTEL_BSP_*``;
the sampler ``OTEL_TRACES_SAMPLER`` and ``OTEL_TRACES_SAMPLER_ARG`` (default here:
``parentbased_traceidratio`` at 1.0, so a caller's sampling decision is kept); the resource
``OTEL_SERVICE_NAME`` and ``OTEL_RESOURCE_ATTRIBUTES`` (default service name ``mobius-gateway``);
``OTEL_SDK_DISABLED=true`` wins over everything. Unlike the specification's default, an unset
``OTEL_TRACES_EXPORTER`` means no tracing: the gateway sends nothing anywhere unless told to.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping

from opentelemetry import trace
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter
from opentelemetry.sdk.trace.sampling import ParentBasedTraceIdRatio, Sampler, _get_from_env_or_default

from clients import telemetry
from mobius.settings import ConfigError

DEFAULT_SERVICE_NAME = "mobius-gateway"


def _otlp_exporter() -> SpanExporter:
    # The OTLP exporter and protobuf cost a worker some 4 MB of RSS: loaded only when asked for.
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter  # noqa: PLC0415

    return OTLPSpanExporter()


_EXPORTERS: dict[str, Callable[[], SpanExporter]] = {"otlp": _otlp_exporter, "console": ConsoleSpanExporter}

_provider: TracerProvider | None = None


def tracing_exporters(env: Mapping[str, str]) -> list[str]:
    """The exporters the environment asks for (none unless ``OTEL_TRACES_EXPORTER`` names one)."""
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return []
    names = [name.strip().lower() for name in env.get("OTEL_TRACES_EXPORTER", "none").split(",") if name.strip()]
    names = [name for name in names if name != "none"]
    unknown = sorted(set(names) - set(_EXPORTERS))
    if unknown:
        raise ConfigError(f"OTEL_TRACES_EXPORTER: unknown exporter {unknown}; known: otlp, console, none")
    return names


def start_tracing(env: Mapping[str, str] = os.environ) -> TracerProvider | None:
    """Install the process's tracer provider as the environment asks (once per process)."""
    global _provider  # noqa: PLW0603  # one tracer provider per process, as OpenTelemetry's API holds it
    exporters = tracing_exporters(env)
    if not exporters:
        return None
    if _provider is None:
        _provider = TracerProvider(sampler=_sampler(env), resource=_resource(env))
        for name in exporters:
            exporter: SpanExporter = _EXPORTERS[name]()
            processor: SpanProcessor = BatchSpanProcessor(exporter)
            _provider.add_span_processor(processor)
        trace.set_tracer_provider(_provider)
    telemetry.configure(metrics=telemetry.metrics_on(), tracing=True)
    return _provider


def stop_tracing() -> None:
    """Export what is still buffered and stop (the server's last step on shutdown)."""
    if _provider is not None:
        telemetry.configure(metrics=telemetry.metrics_on(), tracing=False)
        _provider.shutdown()


def _sampler(env: Mapping[str, str]) -> Sampler:
    if env.get("OTEL_TRACES_SAMPLER"):
        return _get_from_env_or_default()
    return ParentBasedTraceIdRatio(1.0)


def _resource(env: Mapping[str, str]) -> Resource:
    named = env.get("OTEL_SERVICE_NAME") or "service.name=" in env.get("OTEL_RESOURCE_ATTRIBUTES", "")
    return Resource.create({} if named else {SERVICE_NAME: DEFAULT_SERVICE_NAME})
