"""Graceful shutdown: a request in flight at SIGTERM is answered, then buffered spans are exported."""

from __future__ import annotations

import asyncio
import secrets
import signal
from pathlib import Path

import aiohttp
from harness import DASHBOARD_QUERY, Sandbox
from metrics_support import metric
from otlp_support import OtlpReceiver
from served_support import ServedGateway

from sandbox import SandboxCredentials, SandboxUrls


async def test_sigterm_answers_the_request_in_flight_then_flushes_its_spans(
    sandbox_server: tuple[SandboxUrls, SandboxCredentials],
    sandbox: Sandbox,
    http: aiohttp.ClientSession,
    tmp_path: Path,
) -> None:
    env = {"OTEL_TRACES_EXPORTER": "otlp", "OTEL_BSP_SCHEDULE_DELAY": "600000"}  # nothing leaves before shutdown
    with (
        OtlpReceiver() as receiver,
        ServedGateway(
            sandbox_server, tmp_path, env={**env, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": receiver.endpoint}
        ) as gateway,
    ):
        await sandbox.faults("projects", latency_ms=1500)
        trace_id = secrets.token_hex(16)
        headers = {"traceparent": f"00-{trace_id}-{secrets.token_hex(8)}-01"}
        payload = {"query": DASHBOARD_QUERY, "variables": {"orgId": "org-1"}}
        answer = asyncio.create_task(http.post(f"{gateway.url}/graphql", json=payload, headers=headers))
        for _ in range(500):  # until the projects call is in flight (it takes 1.5 s)
            if await metric(http, gateway.url, "mobius_upstream_bulkhead_in_flight", {"upstream": "projects"}) >= 1:
                break
            await asyncio.sleep(0.02)
        assert receiver.trace(trace_id) == []

        stopped = asyncio.create_task(asyncio.to_thread(gateway.stop))
        async with await answer as response:
            assert response.status == 200
            assert "errors" not in await response.json()
        assert await stopped in (0, -signal.SIGTERM)  # uvicorn re-raises the signal once it has shut down

    names = {span.name for span in receiver.trace(trace_id)}
    assert "query Dashboard" in names
    assert "projects query projects" in names
