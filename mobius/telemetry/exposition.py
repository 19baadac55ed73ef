"""``GET /metrics``: the Prometheus text format, or OpenMetrics when the scraper asks for it."""

from __future__ import annotations

from prometheus_client import (
    GC_COLLECTOR,
    PLATFORM_COLLECTOR,
    PROCESS_COLLECTOR,
    REGISTRY,
    CollectorRegistry,
    ProcessCollector,
)
from prometheus_client.exposition import choose_encoder
from prometheus_client.multiprocess import MultiProcessCollector
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from mobius.telemetry.multiprocess import multiprocess_dir

_process_metrics_named = False


def name_process_metrics() -> None:
    """The process's CPU, memory and file descriptors as ``mobius_process_*`` (every name served
    starts with ``mobius_``); the interpreter's GC and platform collectors are left out."""
    global _process_metrics_named  # noqa: PLW0603  # the default registry is process-wide too
    if _process_metrics_named:
        return
    for collector in (PROCESS_COLLECTOR, PLATFORM_COLLECTOR, GC_COLLECTOR):
        REGISTRY.unregister(collector)
    ProcessCollector(namespace="mobius")
    _process_metrics_named = True


def registry() -> CollectorRegistry:
    """Every worker's values under ``serve --workers N``; this process's otherwise."""
    path = multiprocess_dir()
    if path is None:
        return REGISTRY
    collected = CollectorRegistry()
    MultiProcessCollector(collected, path=path)  # type: ignore[no-untyped-call]  # untyped in prometheus-client
    return collected


async def metrics_endpoint(request: Request) -> Response:
    encoder, content_type = choose_encoder(request.headers.get("accept", ""))
    body = await run_in_threadpool(encoder, registry())  # reading every worker's files is blocking I/O
    return Response(body, media_type=content_type, headers={"Cache-Control": "no-store"})
