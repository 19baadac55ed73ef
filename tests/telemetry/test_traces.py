"""Traces through the real OTLP/HTTP exporter to a loopback receiver: one trace holds the caller's
context, the operation, its loader batches, cache reads and upstream calls, and the upstreams saw it."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Iterator

import aiohttp
import pytest
from canary import CANARY, CANARY_CALLER_TOKEN
from harness import ADMIN_HEADERS, DASHBOARD_QUERY, Sandbox
from otlp_support import OtlpReceiver, ReceivedSpan
from served_support import ServedGateway

from sandbox import SandboxCredentials, SandboxUrls
from sandbox.seed import fresh_seed

SERVER, CLIENT = 2, 3  # OTLP span kinds
UPSTREAMS = ("identity", "billing", "projects")


@pytest.fixture(scope="module")
def receiver() -> Iterator[OtlpReceiver]:
    with OtlpReceiver() as running:
        yield running


def tracing_env(receiver: OtlpReceiver, **extra: str) -> dict[str, str]:
    return {
        "OTEL_TRACES_EXPORTER": "otlp",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": receiver.endpoint,
        "OTEL_BSP_SCHEDULE_DELAY": "50",
        **extra,
    }


@pytest.fixture(scope="module")
def traced_gateway(
    sandbox_server: tuple[SandboxUrls, SandboxCredentials],
    receiver: OtlpReceiver,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[ServedGateway]:
    settings = {"callers": [{"name": "ops", "token": CANARY_CALLER_TOKEN, "scopes": ["pii:read"], "user_id": "user-1"}]}
    with ServedGateway(
        sandbox_server, tmp_path_factory.mktemp("traced"), env=tracing_env(receiver), settings=settings
    ) as gateway:
        yield gateway
    assert CANARY not in gateway.output.read_text()


def traceparent() -> tuple[str, str]:
    trace_id, parent = secrets.token_hex(16), secrets.token_hex(8)
    return trace_id, f"00-{trace_id}-{parent}-01"


def complete(spans: list[ReceivedSpan]) -> bool:
    upstreams = {span.attributes.get("mobius.upstream") for span in spans if span.kind == CLIENT}
    return any(span.kind == SERVER for span in spans) and set(UPSTREAMS) <= upstreams


async def test_one_trace_holds_the_operation_its_loader_batches_and_upstream_calls(
    traced_gateway: ServedGateway, receiver: OtlpReceiver, sandbox: Sandbox, http: aiohttp.ClientSession
) -> None:
    trace_id, parent = traceparent()
    payload = {"query": DASHBOARD_QUERY, "variables": {"orgId": "org-1"}}
    async with http.post(f"{traced_gateway.url}/graphql", json=payload, headers={"traceparent": parent}) as response:
        assert response.status == 200
        assert "errors" not in await response.json()

    spans = await asyncio.to_thread(receiver.wait_for, trace_id, complete)
    by_id = {span.span_id: span for span in spans}
    (operation,) = [span for span in spans if span.kind == SERVER]  # FastAPI's own instrumentation not on /graphql
    assert operation.name == "query Dashboard"
    assert operation.parent_span_id == parent.split("-")[2]  # the caller's span
    assert operation.service == "mobius-gateway"

    def under_operation(span: ReceivedSpan) -> bool:
        while span.parent_span_id in by_id:
            span = by_id[span.parent_span_id]
        return span is operation

    loaders = [span for span in spans if span.name.startswith("loader ")]
    calls = [span for span in spans if span.kind == CLIENT]
    reads = [span for span in spans if span.name == "cache read"]
    assert {span.attributes["mobius.read"] for span in loaders} >= {"orgs", "members", "users", "customers", "invoices"}
    assert reads
    assert all(under_operation(span) for span in [*loaders, *calls, *reads])
    assert {span.attributes["mobius.upstream"] for span in calls} >= set(UPSTREAMS)
    assert any(by_id[call.parent_span_id].name.startswith("loader ") for call in calls)

    call_ids = {span.span_id for span in calls}
    for upstream in UPSTREAMS:
        seen = [entry["traceparent"] for entry in (await sandbox.stats(upstream)).get("traceparents", [])]
        ours = [value for value in seen if value.split("-")[1] == trace_id]
        assert ours, f"{upstream} saw no request of the trace"
        assert all(value.split("-")[2] in call_ids for value in ours)  # each is an upstream call's span


async def test_a_retried_call_carries_its_retries_as_events(
    traced_gateway: ServedGateway, receiver: OtlpReceiver, sandbox: Sandbox, http: aiohttp.ClientSession
) -> None:
    await sandbox.faults("billing", error_rate=1.0, status=503)
    trace_id, parent = traceparent()
    query = '{ organization(id: "org-2") { billing { plan } } }'
    async with http.post(
        f"{traced_gateway.url}/graphql", json={"query": query}, headers={"traceparent": parent}
    ) as response:
        assert response.status == 200

    def failed_call(spans: list[ReceivedSpan]) -> bool:
        return any(span.attributes.get("mobius.upstream") == "billing" for span in spans if span.kind == CLIENT)

    spans = await asyncio.to_thread(receiver.wait_for, trace_id, failed_call)
    billing = next(span for span in spans if span.kind == CLIENT and span.attributes["mobius.upstream"] == "billing")
    assert billing.attributes["mobius.outcome"] == "UPSTREAM_UNAVAILABLE"
    assert billing.events == ["retry", "retry"]


async def test_spans_carry_no_credentials_and_no_pii(
    traced_gateway: ServedGateway, receiver: OtlpReceiver, sandbox: Sandbox, http: aiohttp.ClientSession
) -> None:
    user = fresh_seed().identity.users["user-1"]
    trace_id, parent = traceparent()
    query = "query Who($id: ID!, $other: ID!) { users(ids: [$id, $other]) { name email phone } }"
    payload = {"query": query, "variables": {"id": "user-1", "other": user.email}}
    headers = {**ADMIN_HEADERS, "traceparent": parent}
    async with http.post(f"{traced_gateway.url}/graphql", json=payload, headers=headers) as response:
        body = await response.json()
    assert body["data"]["users"][0]["email"] == user.email
    spans = await asyncio.to_thread(receiver.wait_for, trace_id, lambda found: any(s.kind == CLIENT for s in found))
    assert spans
    exported = b"".join(receiver.raw)
    for secret in (CANARY, user.email, user.phone):
        assert secret is not None
        assert secret.encode() not in exported
