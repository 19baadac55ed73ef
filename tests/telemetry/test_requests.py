"""Per request: the one log event, bounded operation labels, log levels by logger, metrics off."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import uuid
from collections.abc import Iterator

import aiohttp
import pytest
import structlog
from canary import CANARY
from harness import ADMIN_HEADERS, DASHBOARD_QUERY, Gateway, GatewayServer, Sandbox, gateway_settings
from metrics_support import label_values, scrape, value
from structlog.testing import capture_logs

from clients import telemetry
from mobius.logging import redact_event
from mobius.settings import LogSettings
from mobius.telemetry.logs import level_filter, named_logger
from mobius.telemetry.requests import _HASHES, HASHES_KEPT, new_request_id, operation_hash
from sandbox import SandboxCredentials, SandboxUrls


async def request_events(logs: list[dict[str, object]]) -> list[dict[str, object]]:
    """The request events, once there is one: it is logged just after the response is sent."""
    for _ in range(500):
        events = [event for event in logs if event["event"] == "request"]
        if events:
            return events
        await asyncio.sleep(0.01)
    return []


async def test_each_request_logs_one_event_with_what_it_did(gateway: Gateway, sandbox: Sandbox) -> None:
    trace_id = uuid.uuid4().hex
    headers = {**ADMIN_HEADERS, "X-Request-Id": "req-42", "traceparent": f"00-{trace_id}-{'1' * 16}-01"}
    payload = {"query": DASHBOARD_QUERY, "variables": {"orgId": "org-1"}}
    with capture_logs() as logs:
        async with gateway.http.post(f"{gateway.url}/graphql", json=payload, headers=headers) as response:
            assert response.status == 200
            assert response.headers["X-Request-Id"] == "req-42"
        [event] = await request_events(logs)
    assert event["request_id"] == "req-42"
    assert event["trace_id"] == trace_id
    assert event["operation_name"] == "Dashboard"
    assert event["operation_type"] == "query"
    assert event["operation_hash"] == hashlib.sha256(DASHBOARD_QUERY.encode()).hexdigest()
    assert event["caller"] == "demo-admin"
    assert event["status"] == 200
    assert event["error_codes"] == []
    calls = event["upstream_calls"]
    assert isinstance(calls, tuple)
    assert {(call["upstream"], call["route"]) for call in calls} >= {
        ("identity", "GET /v1/orgs"),
        ("identity", "GET /v1/orgs/{org_id}/members"),
        ("billing", "GET /v1/customers"),
        ("projects", "query projects"),
    }
    assert all(call["outcome"] == "ok" and call["duration_ms"] > 0 for call in calls)
    assert CANARY not in repr(event)


async def test_an_upstream_failure_is_logged_once_and_named_in_the_request_event(
    gateway: Gateway, sandbox: Sandbox
) -> None:
    await sandbox.faults("billing", error_rate=1.0, status=503)
    with capture_logs() as logs:
        result = await gateway.query('{ organization(id: "org-3") { name billing { plan } } }')
        [event] = await request_events(logs)
    assert result["data"]["organization"]["billing"] is None
    failures = [event for event in logs if event["event"] == "upstream_call_failed"]
    assert [(event["upstream"], event["route"], event["code"], event["attempts"]) for event in failures] == [
        ("billing", "GET /v1/customers", "UPSTREAM_UNAVAILABLE", 3)
    ]
    assert event["error_codes"] == ["UPSTREAM_UNAVAILABLE"]
    assert event["request_id"] != "req-42"  # a fresh id when the caller sends none


async def test_a_hostile_request_id_is_replaced(gateway: Gateway) -> None:
    for hostile in ("x" * 129, "a b", "id\u00e9"):
        async with gateway.http.post(
            f"{gateway.url}/graphql", json={"query": "{ __typename }"}, headers={"X-Request-Id": hostile}
        ) as response:
            assert response.status == 200
            answered = response.headers["X-Request-Id"]
        assert answered != hostile
        assert len(answered) == 32


@pytest.fixture(scope="module")
def bounded_gateway(sandbox_server: tuple[SandboxUrls, SandboxCredentials]) -> Iterator[GatewayServer]:
    settings = gateway_settings(sandbox_server, telemetry={"metrics": {"operation_names": 3}})
    with GatewayServer(settings) as server:
        yield server


async def test_operation_names_past_the_bound_are_labelled_other(
    bounded_gateway: GatewayServer, http: aiohttp.ClientSession
) -> None:
    names = [f"Op{uuid.uuid4().hex[:8]}{index}" for index in range(50)]
    for name in names:
        async with http.post(
            f"{bounded_gateway.url}/graphql", json={"query": f"query {name} {{ __typename }}"}
        ) as response:
            assert response.status == 200
    text, _ = await scrape(http, bounded_gateway.url)
    labelled = label_values(text, "mobius_graphql_operations_total", "operation") & set(names)
    assert labelled == set(names[:3])
    assert value(text, "mobius_graphql_operations_total", {"operation": "other"}) >= 47


async def test_with_metrics_off_nothing_is_served_or_recorded(
    sandbox_server: tuple[SandboxUrls, SandboxCredentials], http: aiohttp.ClientSession
) -> None:
    try:
        with GatewayServer(gateway_settings(sandbox_server, telemetry={"metrics": {"enabled": False}})) as server:
            async with http.get(f"{server.url}/metrics") as response:
                assert response.status == 404
            upstreams = server.app.state.upstreams
            assert all(not transport.pipeline._metrics.on for transport in upstreams.transports)
    finally:
        telemetry.configure(metrics=True, tracing=False)  # the switch is per process: the other tests' gateways


def test_levels_apply_per_logger_and_to_the_loggers_below_it(capsys: pytest.CaptureFixture[str]) -> None:
    by_name = level_filter(
        LogSettings(level="info", levels={"mobius.requests": "warning", "mobius.upstreams.x": "debug"})
    )
    assert by_name.lowest == logging.DEBUG
    structlog.configure(processors=[by_name, structlog.processors.JSONRenderer()], logger_factory=named_logger)
    try:
        structlog.get_logger("mobius.requests").info("request")
        structlog.get_logger("mobius.requests.slow").warning("slow_request")
        structlog.get_logger("mobius.upstreams").debug("quiet")
        structlog.get_logger("mobius.upstreams.x").debug("loud")
        structlog.get_logger("mobius.breaker").info("circuit_breaker_transition")
    finally:
        structlog.reset_defaults()
    lines = capsys.readouterr().out.splitlines()
    assert [line.split('"event": "')[1].split('"')[0] for line in lines] == [
        "slow_request",
        "loud",
        "circuit_breaker_transition",
    ]
    assert '"logger": "mobius.breaker"' in lines[-1]


async def test_what_the_client_chose_goes_through_redaction_in_the_request_event(gateway: Gateway) -> None:
    with capture_logs(processors=[redact_event]) as logs:
        await gateway.query("query sk_live_leaked { __typename }")
        [event] = await request_events(logs)
    assert event["operation_name"] == "[redacted]"
    assert isinstance(event["operation_hash"], str)
    assert len(event["operation_hash"]) == 64


def test_a_new_request_id_is_a_random_version_4_uuid_in_hex() -> None:
    ids = {new_request_id() for _ in range(200)}
    assert len(ids) == 200
    for request_id in ids:
        assert uuid.UUID(hex=request_id).hex == request_id
        assert uuid.UUID(hex=request_id).version == 4
        assert uuid.UUID(hex=request_id).variant == uuid.RFC_4122


def test_operation_hashes_are_the_texts_sha256_remembered_up_to_a_bound() -> None:
    texts = [f"query Q{index} {{ __typename }}" for index in range(HASHES_KEPT + 10)]
    for text in [*texts, *texts[:5]]:
        assert operation_hash(text) == hashlib.sha256(text.encode()).hexdigest()
    assert len(_HASHES) <= HASHES_KEPT
