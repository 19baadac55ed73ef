"""``GET /metrics`` on a running gateway: formats by ``Accept``, names, and what a dashboard counts."""

from __future__ import annotations

import aiohttp
from harness import DASHBOARD_QUERY, Gateway, Sandbox
from metrics_support import label_values, samples, scrape, value

OPENMETRICS = "application/openmetrics-text; version=1.0.0,text/plain;version=0.0.4;q=0.5"


async def test_metrics_are_prometheus_text_by_default_and_openmetrics_when_asked(
    gateway: Gateway, http: aiohttp.ClientSession
) -> None:
    text, content_type = await scrape(http, gateway.url)
    assert content_type.startswith("text/plain; version=0.0.4")
    assert "# EOF" not in text

    open_text, open_type = await scrape(http, gateway.url, accept=OPENMETRICS)
    assert open_type.startswith("application/openmetrics-text; version=1.0.0")
    assert open_text.rstrip().endswith("# EOF")


async def test_every_metric_served_is_named_mobius(gateway: Gateway, http: aiohttp.ClientSession) -> None:
    await gateway.query(DASHBOARD_QUERY, {"orgId": "org-1"})
    text, _ = await scrape(http, gateway.url)
    names = {sample.name for sample in samples(text)}
    assert names
    assert {name for name in names if not name.startswith("mobius_")} == set()
    assert "mobius_process_resident_memory_bytes" in names


async def test_a_cold_dashboard_counts_its_operation_upstream_requests_and_cache_misses(
    gateway: Gateway, sandbox: Sandbox, http: aiohttp.ClientSession
) -> None:
    before, _ = await scrape(http, gateway.url)
    sent_before = await sandbox.api_requests()
    result = await gateway.query(DASHBOARD_QUERY, {"orgId": "org-1"})
    assert "errors" not in result
    sent = {name: count - sent_before[name] for name, count in (await sandbox.api_requests()).items()}
    after, _ = await scrape(http, gateway.url)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, labels) - value(before, name, labels)

    operation = {"operation": "Dashboard", "type": "query"}
    assert delta("mobius_graphql_operations_total", outcome="ok", **operation) == 1
    assert delta("mobius_graphql_operation_duration_seconds_count", **operation) == 1
    assert delta("mobius_http_requests_total", path="/graphql", method="POST", status="200") == 1
    for upstream in ("identity", "billing", "projects"):
        assert delta("mobius_upstream_requests_total", upstream=upstream) == sent[upstream]  # 401s and replays too
        assert delta("mobius_upstream_request_duration_seconds_count", upstream=upstream) == sent[upstream]
    assert delta("mobius_cache_lookups_total", type="users", result="miss") > 0
    assert delta("mobius_loader_batch_size_count", upstream="identity") >= 2
    assert delta("mobius_upstream_retries_total") == 0

    await gateway.query(DASHBOARD_QUERY, {"orgId": "org-1"})
    warm, _ = await scrape(http, gateway.url)

    def answered(text: str, result: str) -> float:
        return value(text, "mobius_cache_lookups_total", {"type": "orgs", "result": result})

    # The L1 in front of the in-process store answers it, or the store once the L1's 5 s have passed
    # (a slow host): either way the cache, not the upstream.
    from_cache = sum(answered(warm, result) - answered(after, result) for result in ("l1_hit", "hit"))
    assert from_cache > 0
    assert answered(warm, "miss") == answered(after, "miss")


async def test_breaker_state_is_one_hot_per_upstream(gateway: Gateway, http: aiohttp.ClientSession) -> None:
    text, _ = await scrape(http, gateway.url)
    for upstream in ("identity", "billing", "projects"):
        states = {
            sample.labels["state"]: sample.value
            for sample in samples(text)
            if sample.name == "mobius_upstream_breaker_state" and sample.labels["upstream"] == upstream
        }
        assert states == {"closed": 1.0, "open": 0.0, "half_open": 0.0}
    assert {"identity", "billing", "projects"} <= label_values(text, "mobius_upstream_retry_budget_tokens", "upstream")
