"""`Organization.projects` fetches the issues its selection asks for inside the projects request.

The projects sandbox charges its rate-limit budget one point per request plus one per connection
it resolves, and the gateway reports what is left (`upstreams { rateLimitRemaining }`): so the
cost of the last request shows whether the upstream document asked for issues, and for how many.
"""

from __future__ import annotations

import functools
from typing import Any

import pytest
from harness import ADMIN_HEADERS, DASHBOARD_QUERY, Gateway, Sandbox, upstream_requests

from sandbox.models import ProjectsData
from sandbox.seed import fresh_projects

BUDGET = 5000
REMAINING = "{ upstreams { name rateLimitRemaining } }"


async def projects_cost(gateway: Gateway) -> int:
    """What the projects requests since the sandbox reset cost, as the upstream last reported it."""
    health = (await gateway.query(REMAINING))["data"]["upstreams"]
    remaining: int = next(u["rateLimitRemaining"] for u in health if u["name"] == "projects")
    return BUDGET - remaining


@pytest.fixture
async def ready(gateway: Gateway) -> Gateway:
    """The gateway after one identity call: the sandbox reset revoked its token, which would add a
    refused request to the first count."""
    await gateway.query('{ user(id: "user-1") { id } }')
    return gateway


async def invalidate(gateway: Gateway, body: dict[str, Any]) -> None:
    async with gateway.http.post(f"{gateway.url}/admin/cache/invalidate", json=body, headers=ADMIN_HEADERS) as response:
        assert response.status == 200


async def counted(gateway: Gateway, sandbox: Sandbox, query: str, variables: dict[str, Any] | None = None) -> Any:
    """The answer and the upstream API requests it took."""
    before = await sandbox.api_requests()
    result = await gateway.query(query, variables)
    after = await sandbox.api_requests()
    return result, {upstream: after[upstream] - before[upstream] for upstream in after}


@functools.cache
def seeded_projects() -> ProjectsData:
    """The seeded projects, copied once for the module: the helpers below only read them."""
    return fresh_projects()


def seeded_issue_ids(project_id: str, first: int, state: str | None = None) -> list[str]:
    projects = seeded_projects()
    ids = projects.issues_by_project[project_id]
    return [i for i in ids if state is None or projects.issues[i].state == state][:first]


def org_projects(first: int) -> list[str]:
    return seeded_projects().projects_by_org["org-1"][:first]


async def test_the_dashboard_gets_its_issues_from_the_projects_request(ready: Gateway, sandbox: Sandbox) -> None:
    result, counts = await counted(ready, sandbox, DASHBOARD_QUERY, {"orgId": "org-1"})

    assert "errors" not in result
    assert counts["projects"] == 1
    assert await projects_cost(ready) == 1 + 1 + 20, "one request: the projects page and 20 issue pages"
    projects = result["data"]["organization"]["projects"]["nodes"]
    assert all(len(project["issues"]["nodes"]) == 10 for project in projects)


async def test_a_selection_without_issues_asks_the_upstream_for_none(ready: Gateway, sandbox: Sandbox) -> None:
    query = '{ organization(id: "org-1") { projects(first: 20) { nodes { id name owner { name } } } } }'

    result, counts = await counted(ready, sandbox, query)

    assert "errors" not in result
    assert [p["id"] for p in result["data"]["organization"]["projects"]["nodes"]] == org_projects(20)
    assert counts == upstream_requests(identity=2, projects=1)
    assert await projects_cost(ready) == 1 + 1, "the request and the projects connection, no issues"


ALIASED = """
{
  organization(id: "org-1") {
    projects(first: 5) {
      nodes {
        id
        open: issues(first: 3, state: OPEN) { nodes { id state } }
        closed: issues(first: 2, state: CLOSED) { nodes { id state } }
        again: issues(state: OPEN, first: 3) { totalCount }
        all: issues { nodes { id } }
      }
    }
  }
}
"""


async def test_aliased_issues_with_different_arguments_are_fetched_once_each(ready: Gateway, sandbox: Sandbox) -> None:
    result, counts = await counted(ready, sandbox, ALIASED)

    assert "errors" not in result
    assert counts["projects"] == 1
    assert await projects_cost(ready) == 1 + 1 + 5 * 3, "three distinct argument sets for 5 projects"
    for project in result["data"]["organization"]["projects"]["nodes"]:
        assert [i["id"] for i in project["open"]["nodes"]] == seeded_issue_ids(project["id"], 3, "OPEN")
        assert [i["id"] for i in project["closed"]["nodes"]] == seeded_issue_ids(project["id"], 2, "CLOSED")
        assert {i["state"] for i in project["open"]["nodes"]} <= {"OPEN"}
        assert project["again"]["totalCount"] >= len(project["open"]["nodes"])
        assert [i["id"] for i in project["all"]["nodes"]] == seeded_issue_ids(project["id"], 10)


FRAGMENTS = """
query ($n: Int!, $state: IssueState, $withIssues: Boolean!, $skipClosed: Boolean!) {
  organization(id: "org-1") { projects(first: 4) { ...Page } }
}
fragment Page on ProjectConnection {
  nodes {
    id
    ... on Project {
      picked: issues(first: $n, state: $state) @include(if: $withIssues) { nodes { id } }
    }
    ...Closed @skip(if: $skipClosed)
  }
}
fragment Closed on Project { closed: issues(first: 1, state: CLOSED) { nodes { id } } }
"""


async def test_variables_fragments_and_conditions_decide_the_nested_issues(ready: Gateway, sandbox: Sandbox) -> None:
    variables = {"n": 4, "state": "OPEN", "withIssues": True, "skipClosed": False}
    both, counts = await counted(ready, sandbox, FRAGMENTS, variables)

    assert "errors" not in both
    assert counts["projects"] == 1
    assert await projects_cost(ready) == 1 + 1 + 4 * 2
    for project in both["data"]["organization"]["projects"]["nodes"]:
        assert [i["id"] for i in project["picked"]["nodes"]] == seeded_issue_ids(project["id"], 4, "OPEN")
        assert [i["id"] for i in project["closed"]["nodes"]] == seeded_issue_ids(project["id"], 1, "CLOSED")

    await invalidate(ready, {"all": True})  # the projects page is fetched again, not served from the cache
    await sandbox.reset()
    variables = {"n": 2, "state": None, "withIssues": True, "skipClosed": True}
    picked, counts = await counted(ready, sandbox, FRAGMENTS, variables)

    assert "errors" not in picked
    assert counts["projects"] == 1
    assert await projects_cost(ready) == 1 + 1 + 4
    for project in picked["data"]["organization"]["projects"]["nodes"]:
        assert "closed" not in project
        assert [i["id"] for i in project["picked"]["nodes"]] == seeded_issue_ids(project["id"], 2)

    await invalidate(ready, {"all": True})  # the projects page is fetched again, not served from the cache
    await sandbox.reset()
    variables = {"n": 2, "state": None, "withIssues": False, "skipClosed": True}
    neither, counts = await counted(ready, sandbox, FRAGMENTS, variables)

    assert "errors" not in neither
    assert counts["projects"] == 1
    assert await projects_cost(ready) == 1 + 1
    assert all(set(project) == {"id"} for project in neither["data"]["organization"]["projects"]["nodes"])


CONDITIONAL_NODES = """
query ($withNodes: Boolean!) {
  organization(id: "org-1") {
    projects(first: 4) { totalCount nodes @include(if: $withNodes) { id issues(first: 2) { nodes { id } } } }
  }
}
"""


async def test_a_condition_on_the_projects_nodes_decides_the_nested_issues_in_each_request(
    ready: Gateway, sandbox: Sandbox
) -> None:
    for with_nodes in (True, False, True):  # the document's walk is kept; its condition is read per request
        await invalidate(ready, {"all": True})
        await sandbox.reset()
        result, counts = await counted(ready, sandbox, CONDITIONAL_NODES, {"withNodes": with_nodes})

        assert "errors" not in result
        assert counts["projects"] == 1
        projects = result["data"]["organization"]["projects"]
        if with_nodes:
            assert await projects_cost(ready) == 1 + 1 + 4
            assert [[i["id"] for i in p["issues"]["nodes"]] for p in projects["nodes"]] == [
                seeded_issue_ids(p["id"], 2) for p in projects["nodes"]
            ]
        else:
            assert await projects_cost(ready) == 1 + 1
            assert "nodes" not in projects


BROKEN = """
{
  organization(id: "org-1") {
    all: projects(first: 20) { nodes { id name } }
    broken: projects(first: 20) { nodes { id issues(first: 3, after: "not-a-cursor") { totalCount } } }
  }
}
"""


async def test_an_issues_error_keeps_the_projects_and_is_reported_on_each_issues_field(
    ready: Gateway, sandbox: Sandbox
) -> None:
    result, counts = await counted(ready, sandbox, BROKEN)

    org = result["data"]["organization"]
    assert [p["id"] for p in org["all"]["nodes"]] == org_projects(20), "the page survives its issues' error"
    assert org["broken"] is None, "`issues` is non-null: its error nulls the list and the connection, as before"
    assert [(error["path"], error["extensions"]) for error in result["errors"]] == [
        (["organization", "broken", "nodes", 0, "issues"], {"code": "UPSTREAM_BAD_REQUEST", "upstream": "projects"})
    ]
    assert counts["projects"] == 2, "one page for both selections (one cache entry), then the issues on their own"


async def test_a_cached_projects_page_without_cached_issues_loads_them_in_one_batch(
    ready: Gateway, sandbox: Sandbox
) -> None:
    cold, _ = await counted(ready, sandbox, DASHBOARD_QUERY, {"orgId": "org-1"})
    tags = [f"project:{project_id}" for project_id in org_projects(20)]
    await invalidate(ready, {"tags": tags})

    warm, counts = await counted(ready, sandbox, DASHBOARD_QUERY, {"orgId": "org-1"})

    assert warm == cold
    assert counts == upstream_requests(projects=1), "the page from the cache, its issues in one batch"
