"""deploy/prometheus and deploy/grafana: checked by promtool, alerts unit-tested, and every metric
they name served by a running gateway."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from typing import Any

import aiohttp
import orjson
import yaml
from harness import DASHBOARD_QUERY, Gateway
from metrics_support import scrape
from prometheus_client.parser import text_string_to_metric_families
from prometheus_support import DASHBOARD, RULE_TESTS, RULES, tool

_METRIC = re.compile(r"\bmobius_[a-z0-9_]+")
_SUFFIXES = ("", "_total", "_bucket", "_count", "_sum", "_created")


def test_the_rules_pass_promtool_check() -> None:
    argv = [tool("promtool"), "check", "rules", str(RULES)]
    checked = subprocess.run(argv, check=False, capture_output=True, text=True)  # noqa: S603
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "SUCCESS" in checked.stdout


def test_the_alerts_pass_their_promtool_unit_tests() -> None:
    tested = subprocess.run(  # noqa: S603
        [tool("promtool"), "test", "rules", RULE_TESTS.name],
        check=False,
        capture_output=True,
        text=True,
        cwd=RULE_TESTS.parent,
    )
    assert tested.returncode == 0, tested.stdout + tested.stderr


def test_the_alerts_cover_what_operators_are_paged_for() -> None:
    alerts = {
        rule["alert"]
        for group in yaml.safe_load(RULES.read_text())["groups"]
        for rule in group["rules"]
        if "alert" in rule
    }
    assert {
        "MobiusUpstreamBreakerOpen",
        "MobiusUpstreamErrorBudgetBurn",
        "MobiusUpstreamLatencyBudgetBurn",
        "MobiusUpstreamRetryBudgetExhausted",
        "MobiusCacheDegraded",
    } <= alerts


def rule_expressions() -> Iterator[str]:
    for group in yaml.safe_load(RULES.read_text())["groups"]:
        for rule in group["rules"]:
            yield rule["expr"]


def dashboard_expressions(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("expr", "definition") and isinstance(value, str):
                yield value
            else:
                yield from dashboard_expressions(value)
    elif isinstance(node, list):
        for item in node:
            yield from dashboard_expressions(item)


def test_the_dashboard_has_the_sections_an_operator_looks_for() -> None:
    dashboard = orjson.loads(DASHBOARD.read_bytes())
    rows = [panel["title"] for panel in dashboard["panels"] if panel["type"] == "row"]
    assert rows == ["Traffic", "Errors", "Latency", "Upstreams", "Cache"]
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    graphs = [panel for panel in dashboard["panels"] if panel["type"] != "row"]
    assert all(panel["targets"] and all(target["expr"] for target in panel["targets"]) for panel in graphs)


async def test_every_metric_the_rules_and_dashboard_name_is_served(
    gateway: Gateway, http: aiohttp.ClientSession
) -> None:
    await gateway.query(DASHBOARD_QUERY, {"orgId": "org-1"})
    text, _ = await scrape(http, gateway.url)
    served = {family.name + suffix for family in text_string_to_metric_families(text) for suffix in _SUFFIXES}
    named = {
        name
        for expr in [*rule_expressions(), *dashboard_expressions(orjson.loads(DASHBOARD.read_bytes()))]
        for name in _METRIC.findall(expr)
    }
    assert len(named) > 20
    assert named - served == set()
