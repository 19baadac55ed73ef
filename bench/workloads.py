"""The queries the benchmark drives, identical for every implementation."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.floor import DashboardPlan

QUERIES = Path(__file__).parent / "queries"
DASHBOARD_FILE = QUERIES / "dashboard.graphql"
DASHBOARD_SIZED_FILE = QUERIES / "dashboard-sized.graphql"

RESPONSE_CACHE = "response-cache"
ENTITY_CACHE = "entity-cache"
ENTITY_CACHE_REDIS = "entity-cache-redis"
MOBIUS_VARIANTS = (RESPONSE_CACHE, ENTITY_CACHE, ENTITY_CACHE_REDIS)
"""Workloads that run on a Mobius process of their own, with that cache configuration."""


@dataclass(frozen=True, slots=True)
class Workload:
    name: str
    query: str
    variables: dict[str, Any]
    description: str
    variant: str = ""
    """One of MOBIUS_VARIANTS: Mobius only, on its own process; empty: every implementation, cache off."""
    plan: DashboardPlan | None = None
    """A dashboard's page sizes: what `floor-io` asks the upstreams for."""

    def body(self) -> dict[str, Any]:
        return {"query": self.query, "variables": self.variables}


def _sized(name: str, members: int, projects: int, issues: int, description: str) -> Workload:
    variables = {"orgId": "org-1", "members": members, "projects": projects, "issues": issues}
    query = DASHBOARD_SIZED_FILE.read_text(encoding="utf-8")
    return Workload(name, query, variables, description, plan=DashboardPlan("org-1", members, projects, issues, 5))


def workloads() -> list[Workload]:
    dashboard = DASHBOARD_FILE.read_text(encoding="utf-8")
    ids = [f"user-{n}" for n in range(1, 101)]
    plan = DashboardPlan("org-1", members=50, projects=20, issues=10, invoices=5)
    org = {"orgId": "org-1"}
    return [
        Workload("dashboard", dashboard, org, "the reference dashboard (~29 KB, 7 upstream requests cold)", plan=plan),
        _sized("dashboard-5k", 15, 6, 4, "the dashboard at ~5 KB (15 members, 6 projects x 4 issues)"),
        _sized("dashboard-61k", 80, 30, 15, "the dashboard at ~61 KB (80 members, 30 projects x 15 issues)"),
        Workload(
            "dashboard-warm",
            dashboard,
            org,
            "the dashboard executed from the warm entity cache, in-process (response cache off)",
            variant=ENTITY_CACHE,
        ),
        Workload(
            "dashboard-warm-redis",
            dashboard,
            org,
            "the dashboard executed from the warm entity cache in Redis (its default in-process L1 in front)",
            variant=ENTITY_CACHE_REDIS,
        ),
        Workload(
            "dashboard-cached",
            dashboard,
            org,
            "the dashboard with a warm response cache",
            variant=RESPONSE_CACHE,
        ),
        Workload("user", "query User($id: ID!) { user(id: $id) { id name } }", {"id": "user-7"}, "`user(id)`"),
        Workload(
            "users100",
            "query Users($ids: [ID!]!) { users(ids: $ids) { id name } }",
            {"ids": ids},
            "`users(ids:)`, 100 ids",
        ),
        Workload("typename", "{ __typename }", {}, "`{ __typename }`: the floor"),
    ]
