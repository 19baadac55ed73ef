"""A real Prometheus server (Debian's) on loopback scrapes a real gateway with the project's rules."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import aiohttp
from harness import DASHBOARD_QUERY, Gateway, Sandbox
from metrics_support import scrape, value
from prometheus_support import PrometheusServer

UPSTREAMS = ("identity", "billing", "projects")


async def test_prometheus_scrapes_the_gateway_and_counts_a_dashboards_upstream_requests(
    gateway: Gateway, sandbox: Sandbox, http: aiohttp.ClientSession, tmp_path: Path
) -> None:
    target = gateway.url.removeprefix("http://")
    with PrometheusServer(tmp_path, [target]) as prometheus:
        result = await gateway.query(DASHBOARD_QUERY, {"orgId": "org-1"})
        assert "errors" not in result
        text, _ = await scrape(http, gateway.url)
        served = {name: value(text, "mobius_upstream_requests_total", {"upstream": name}) for name in UPSTREAMS}
        assert all(served.values())

        expr = "sum by (upstream) (mobius_upstream_requests_total)"
        deadline = time.monotonic() + 30
        seen: dict[str, float] = {}
        up: list[dict[str, Any]] = []
        while time.monotonic() < deadline:
            up = prometheus.query('up{job="mobius"}')
            seen = {row["metric"]["upstream"]: float(row["value"][1]) for row in prometheus.query(expr)}
            if up and up[0]["value"][1] == "1" and all(seen.get(name) == served[name] for name in UPSTREAMS):
                break
            await asyncio.sleep(0.25)
        assert [row["value"][1] for row in up] == ["1"], prometheus.api("targets")
        assert {name: seen.get(name) for name in UPSTREAMS} == served

        groups = {group["name"]: group for group in prometheus.api("rules")["groups"]}
        assert set(groups) == {"mobius-recording", "mobius-alerts"}
        assert all(rule["health"] != "err" for group in groups.values() for rule in group["rules"])
