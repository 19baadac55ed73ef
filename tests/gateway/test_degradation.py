"""A failing upstream nulls only the fields that depend on it, with coded errors."""

from __future__ import annotations

from typing import Any

from harness import DASHBOARD_QUERY, Gateway, Sandbox

PROJECT_QUERY = """
query ($id: ID!) {
  project(id: $id) { id name owner { id name } issues(first: 5) { nodes { id title assignee { id name } } } }
}
"""


def errors_by_path(result: dict[str, Any]) -> dict[tuple[str | int, ...], dict[str, Any]]:
    return {tuple(error["path"]): error for error in result.get("errors", [])}


async def test_billing_outage_nulls_only_billing(gateway: Gateway, sandbox: Sandbox) -> None:
    await sandbox.faults("billing", error_rate=1.0, status=503)

    result = await gateway.query(DASHBOARD_QUERY, {"orgId": "org-1"})

    org = result["data"]["organization"]
    assert org["billing"] is None
    assert len(org["members"]["nodes"]) == 50
    assert len(org["projects"]["nodes"]) == 20
    errors = errors_by_path(result)
    assert list(errors) == [("organization", "billing")]
    extensions = errors[("organization", "billing")]["extensions"]
    assert extensions == {"code": "UPSTREAM_UNAVAILABLE", "upstream": "billing"}


async def test_identity_outage_keeps_projects_and_issues(gateway: Gateway, sandbox: Sandbox) -> None:
    await sandbox.faults("identity", error_rate=1.0, status=503)

    result = await gateway.query(PROJECT_QUERY, {"id": "proj-1"})

    project = result["data"]["project"]
    assert project["id"] == "proj-1"
    assert project["owner"] is None
    assert len(project["issues"]["nodes"]) == 5
    assert all(issue["assignee"] is None for issue in project["issues"]["nodes"])
    errors = errors_by_path(result)
    assert ("project", "owner") in errors
    assert {("project", "issues", "nodes", i, "assignee") for i in range(5)} <= set(errors)
    assert {error["extensions"]["upstream"] for error in errors.values()} == {"identity"}
    assert {error["extensions"]["code"] for error in errors.values()} == {"UPSTREAM_UNAVAILABLE"}


async def test_malformed_upstream_body_is_reported_on_its_path(gateway: Gateway, sandbox: Sandbox) -> None:
    await sandbox.faults("billing", malformed=True)

    result = await gateway.query(DASHBOARD_QUERY, {"orgId": "org-1"})

    assert result["data"]["organization"]["billing"] is None
    error = errors_by_path(result)[("organization", "billing")]
    assert error["extensions"] == {"code": "UPSTREAM_INVALID_RESPONSE", "upstream": "billing"}
    assert "Traceback" not in error["message"]


async def test_malformed_graphql_upstream_body_fails_its_fields(gateway: Gateway, sandbox: Sandbox) -> None:
    await sandbox.faults("projects", malformed=True)

    result = await gateway.query(DASHBOARD_QUERY, {"orgId": "org-1"})

    org = result["data"]["organization"]
    assert org["projects"] is None
    assert org["billing"]["plan"] is not None
    error = errors_by_path(result)[("organization", "projects")]
    assert error["extensions"] == {"code": "UPSTREAM_INVALID_RESPONSE", "upstream": "projects"}


async def test_rate_limited_upstream_reports_retry_after(gateway: Gateway, sandbox: Sandbox) -> None:
    await sandbox.faults("billing", rate_limit={"limit": 1, "window_s": 30})

    result = await gateway.query(DASHBOARD_QUERY, {"orgId": "org-1"})

    error = errors_by_path(result)[("organization", "billing", "plan")]
    assert error["extensions"]["code"] == "RATE_LIMITED"
    assert error["extensions"]["upstream"] == "billing"
    assert 0 < error["extensions"]["retryAfter"] <= 30
