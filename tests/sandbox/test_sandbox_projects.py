"""The projects upstream over HTTP: GraphQL connections, nodes, mutations, cost extensions."""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from canary import CANARY_CREDENTIALS

from sandbox import SandboxUrls

Query = Callable[..., Awaitable[dict[str, Any]]]

PROJECTS = """
query($org: ID!, $first: Int, $after: String) {
  projects(orgId: $org, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor }
    nodes { id name orgId ownerId state issues(first: 10) { totalCount nodes { id assigneeId projectId } } }
  }
}
"""


async def test_projects_page_with_issues_and_cost(projects_query: Query) -> None:
    result = await projects_query(PROJECTS, {"org": "org-1", "first": 20})
    assert "errors" not in result
    connection = result["data"]["projects"]
    assert connection["totalCount"] == 30
    assert connection["pageInfo"]["hasNextPage"] is True
    assert [p["id"] for p in connection["nodes"]] == [f"proj-{n}" for n in range(1, 21)]
    for project in connection["nodes"]:
        assert project["issues"]["totalCount"] == 15
        assert len(project["issues"]["nodes"]) == 10
        assert all(i["assigneeId"] and i["projectId"] == project["id"] for i in project["issues"]["nodes"])
    assert result["extensions"]["rateLimit"]["cost"] == 1 + 1 + 20
    after = connection["pageInfo"]["endCursor"]
    rest = await projects_query(PROJECTS, {"org": "org-1", "first": 20, "after": after})
    page = rest["data"]["projects"]
    assert [p["id"] for p in page["nodes"]] == [f"proj-{n}" for n in range(21, 31)]
    assert page["pageInfo"]["hasNextPage"] is False


async def test_a_cursor_int_cannot_read_is_a_user_input_error(projects_query: Query) -> None:
    for position in ("\u00b2", "9" * 5000):
        cursor = base64.b64encode(f"cursor:{position}".encode()).decode()
        result = await projects_query(PROJECTS, {"org": "org-1", "first": 2, "after": cursor})
        assert result["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_nodes_resolve_both_types_and_null_for_unknown(projects_query: Query) -> None:
    query = """query($ids: [ID!]!) { nodes(ids: $ids) { __typename id
      ... on Project { ownerId } ... on Issue { title state } } node(id: "issue-1") { id } }"""
    result = await projects_query(query, {"ids": ["issue-2", "proj-3", "proj-999999", "nope"]})
    nodes = result["data"]["nodes"]
    assert [n and n["__typename"] for n in nodes] == ["Issue", "Project", None, None]
    assert result["data"]["node"] == {"id": "issue-1"}


async def test_issue_state_filter_and_first_limit(projects_query: Query) -> None:
    query = """{ node(id: "proj-1") { ... on Project {
      open: issues(first: 100, state: OPEN) { totalCount nodes { state } }
      closed: issues(state: CLOSED) { totalCount } } } }"""
    project = (await projects_query(query))["data"]["node"]
    assert {i["state"] for i in project["open"]["nodes"]} <= {"OPEN"}
    assert project["open"]["totalCount"] + project["closed"]["totalCount"] == 15
    too_many = await projects_query(PROJECTS, {"org": "org-1", "first": 101})
    assert too_many["data"] is None
    assert "first" in too_many["errors"][0]["message"]


async def test_create_and_close_issue(fresh_sandbox: SandboxUrls, projects_query: Query) -> None:
    created = await projects_query(
        'mutation { createIssue(projectId: "proj-2", title: "Write docs") { id state assigneeId projectId } }'
    )
    issue = created["data"]["createIssue"]
    assert issue["state"] == "OPEN"
    assert issue["projectId"] == "proj-2"
    closed = await projects_query("mutation($id: ID!) { closeIssue(id: $id) { id state } }", {"id": issue["id"]})
    assert closed["data"]["closeIssue"] == {"id": issue["id"], "state": "CLOSED"}
    count = await projects_query('{ node(id: "proj-2") { ... on Project { issues { totalCount } } } }')
    assert count["data"]["node"]["issues"]["totalCount"] == 16
    missing = await projects_query('mutation { closeIssue(id: "issue-0") { id } }')
    assert missing["errors"][0]["extensions"]["code"] == "NOT_FOUND"


async def test_a_repeated_query_answers_the_current_data(
    fresh_sandbox: SandboxUrls, projects_query: Query, http: aiohttp.ClientSession
) -> None:
    """The same body answers the same until a mutation or a reset changes the data; each answer
    is charged."""
    count = '{ node(id: "proj-3") { ... on Project { issues(state: OPEN) { totalCount } } } }'
    before = await projects_query(count)
    assert await projects_query(count) == {**before, "extensions": {"rateLimit": {"cost": 2, "remaining": 4996}}}
    opened = before["data"]["node"]["issues"]["totalCount"]
    created = await projects_query('mutation { createIssue(projectId: "proj-3", title: "Cached?") { id } }')
    assert (await projects_query(count))["data"]["node"]["issues"]["totalCount"] == opened + 1
    close = "mutation($id: ID!) { closeIssue(id: $id) { state } }"
    await projects_query(close, {"id": created["data"]["createIssue"]["id"]})
    assert (await projects_query(count))["data"] == before["data"]
    refused = await projects_query("{ nope }")
    assert await projects_query("{ nope }") == {**refused, "extensions": {"rateLimit": {"cost": 1, "remaining": 4988}}}
    await projects_query('mutation { createIssue(projectId: "proj-3", title: "Again") { id } }')
    assert (await projects_query(count))["data"]["node"]["issues"]["totalCount"] == opened + 1
    async with http.post(f"{fresh_sandbox.projects}/_sandbox/reset") as response:
        assert response.status == 200
    assert (await projects_query(count))["data"] == before["data"]


async def test_rate_limit_budget_decrements_and_resets(fresh_sandbox: SandboxUrls, projects_query: Query) -> None:
    first = await projects_query('{ node(id: "proj-1") { id } }')
    second = await projects_query('{ node(id: "proj-1") { id } }')
    assert first["extensions"]["rateLimit"] == {"cost": 1, "remaining": 4999}
    assert second["extensions"]["rateLimit"]["remaining"] == 4998


async def test_requests_without_the_token_are_401(urls: SandboxUrls, http: aiohttp.ClientSession) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong"}):
        async with http.post(f"{urls.projects}/graphql", json={"query": "{ __typename }"}, headers=headers) as response:
            assert response.status == 401
            body = await response.json()
            assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_non_graphql_body_is_400(urls: SandboxUrls, http: aiohttp.ClientSession) -> None:
    headers = {"Authorization": f"Bearer {CANARY_CREDENTIALS.projects.token}"}
    async with http.post(f"{urls.projects}/graphql", data=b"not json", headers=headers) as response:
        assert response.status == 400
        assert "errors" in await response.json()
