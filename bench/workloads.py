"""The queries the benchmark drives, identical for every implementation."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

DASHBOARD_FILE = Path(__file__).parent / "queries" / "dashboard.graphql"


@dataclass(frozen=True, slots=True)
class Workload:
    name: str
    query: str
    variables: dict[str, Any]
    description: str
    needs_cache: bool = False

    def body(self) -> dict[str, Any]:
        return {"query": self.query, "variables": self.variables}


def workloads() -> list[Workload]:
    dashboard = DASHBOARD_FILE.read_text(encoding="utf-8")
    ids = [f"user-{n}" for n in range(1, 101)]
    return [
        Workload("dashboard", dashboard, {"orgId": "org-1"}, "the reference dashboard (7 upstream requests cold)"),
        Workload("user", "query User($id: ID!) { user(id: $id) { id name } }", {"id": "user-7"}, "`user(id)`"),
        Workload(
            "users100",
            "query Users($ids: [ID!]!) { users(ids: $ids) { id name } }",
            {"ids": ids},
            "`users(ids:)`, 100 ids",
        ),
        Workload("typename", "{ __typename }", {}, "`{ __typename }`: the floor"),
        Workload(
            "dashboard-cached",
            dashboard,
            {"orgId": "org-1"},
            "the dashboard with a warm response cache",
            needs_cache=True,
        ),
    ]
