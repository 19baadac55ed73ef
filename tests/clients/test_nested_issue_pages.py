"""Issue pages fetched inside the projects request: the loaders against the real projects upstream,
and how one nested answer is split into pages, issue pages and per-key errors."""

from __future__ import annotations

import functools
from typing import Any

import orjson
from msgspec.structs import replace

from clients.errors import UpstreamInvalidResponse, UpstreamStatusError, graphql_outage
from clients.graphql import GraphQLResult, read_result
from clients.projects import (
    ISSUES,
    PROJECT_PAGES,
    PROJECTS_SLOT,
    IssuePage,
    IssuesArgs,
    ProjectPage,
    ProjectsKey,
    ProjectsWithIssues,
    projects_answer,
)
from clients.upstreams import Upstreams
from resolvers.loaders import Loaders
from sandbox.models import ProjectsData
from sandbox.seed import fresh_projects
from tests.clients.support import route_count

GRAPHQL = "POST /graphql"
ORG_1 = ProjectsKey(org_id="org-1", first=20)


@functools.cache
def seeded_projects() -> ProjectsData:
    """The seeded projects, copied once for the module: the helpers below only read them."""
    return fresh_projects()


def seeded_issues(project_id: str, args: IssuesArgs) -> list[str]:
    projects = seeded_projects()
    ids = projects.issues_by_project[project_id]
    return [i for i in ids if args.state is None or projects.issues[i].state == args.state][: args.first]


async def test_a_projects_page_brings_each_projects_issues_in_the_same_request(
    sandbox: Any, upstreams: Upstreams
) -> None:
    loaders = Loaders.build(upstreams)
    wanted = [IssuesArgs(first=5), IssuesArgs(first=3, state="CLOSED")]

    page = await loaders[PROJECT_PAGES].load(replace(ORG_1, issues=tuple(wanted)))
    assert page is not None
    pages = await loaders[ISSUES].load_many([args.key(p.id) for p in page.nodes for args in wanted])

    assert len(page.nodes) == 20
    assert await route_count(sandbox, "projects", GRAPHQL) == 1
    expected = [seeded_issues(p.id, args) for p in page.nodes for args in wanted]
    assert [[issue.id for issue in issues.nodes] for issues in pages if issues is not None] == expected


async def test_keys_of_one_tick_go_in_one_request_each_with_the_issue_pages_it_asks_for(
    sandbox: Any, upstreams: Upstreams
) -> None:
    loaders = Loaders.build(upstreams)
    open_args, closed_args = IssuesArgs(first=2, state="OPEN"), IssuesArgs(first=2, state="CLOSED")

    first = loaders[PROJECT_PAGES].load(replace(ORG_1, issues=(open_args,)))
    second = loaders[PROJECT_PAGES].load(replace(ORG_1, issues=(closed_args, open_args)))
    page, again = await first, await second
    assert page is not None
    assert again is not None
    assert [project.id for project in again.nodes] == [project.id for project in page.nodes]

    project = page.nodes[0]
    found = await loaders[ISSUES].load_many([open_args.key(project.id), closed_args.key(project.id)])
    assert [[i.id for i in issues.nodes] for issues in found if issues] == [
        seeded_issues(project.id, open_args),
        seeded_issues(project.id, closed_args),
    ]
    assert await route_count(sandbox, "projects", GRAPHQL) == 1


async def test_an_issues_error_keeps_the_page_and_fails_only_the_issues(sandbox: Any, upstreams: Upstreams) -> None:
    loaders = Loaders.build(upstreams)
    bad_cursor = IssuesArgs(first=3, after="not-a-cursor")

    page = await loaders[PROJECT_PAGES].load(replace(ORG_1, issues=(bad_cursor,)))
    assert page is not None
    failures = [loaders[ISSUES].load(bad_cursor.key(project.id)) for project in page.nodes]

    assert isinstance(page, ProjectPage)
    assert len(page.nodes) == 20
    assert all(future.done() for future in failures), "loaded before the page was handed out"
    errors = [future.exception() for future in failures]
    assert all(isinstance(error, UpstreamStatusError) for error in errors)
    assert {(error.code, error.upstream_code) for error in errors if isinstance(error, UpstreamStatusError)} == {
        ("UPSTREAM_BAD_REQUEST", "BAD_USER_INPUT")
    }
    assert await route_count(sandbox, "projects", GRAPHQL) == 3, "nested, the page again, the issues batch"


async def test_without_issue_arguments_the_projects_document_asks_for_no_issues(
    sandbox: Any, upstreams: Upstreams
) -> None:
    loaders = Loaders.build(upstreams)

    await loaders[PROJECT_PAGES].load(ORG_1)

    assert await route_count(sandbox, "projects", GRAPHQL) == 1
    assert upstreams.transport("projects").pipeline.limiter.remaining == 5000 - 2, "the request and one connection"


def page_value(*issues: Any) -> dict[str, Any]:
    """A projects page of len(issues) projects, each with ``i0`` set to the given value."""
    nodes = [
        {"id": f"proj-{n}", "name": "P", "orgId": "org-1", "ownerId": "user-1", "state": "ACTIVE", "i0": value}
        for n, value in enumerate(issues)
    ]
    return {"totalCount": len(nodes), "pageInfo": {"hasNextPage": False, "endCursor": None}, "nodes": nodes}


ISSUES_PAGE = {"totalCount": 0, "pageInfo": {"hasNextPage": False, "endCursor": None}, "nodes": []}
WANTED = [replace(ORG_1, issues=(IssuesArgs(first=3),))]


def nested_error(path: list[str | int], code: str = "BAD_USER_INPUT") -> dict[str, Any]:
    return {"message": "no", "path": path, "extensions": {"code": code}}


def test_an_error_inside_one_projects_issues_fails_that_key_only(upstreams: Upstreams) -> None:
    """An upstream whose ``issues`` is nullable keeps the page: only the failed issue page is an error."""
    result = GraphQLResult(
        data={"k0": page_value(ISSUES_PAGE, None)}, errors=[nested_error(["k0", "nodes", 1, "i0"])], extensions=None
    )

    [answer] = upstreams[PROJECTS_SLOT].split_nested(result, WANTED)

    assert isinstance(answer, ProjectsWithIssues)
    assert [project.id for project in answer.page.nodes] == ["proj-0", "proj-1"]
    ok, failed = answer.issues[IssuesArgs(3).key("proj-0")], answer.issues[IssuesArgs(3).key("proj-1")]
    assert isinstance(ok, IssuePage)
    assert isinstance(failed, UpstreamStatusError)
    assert failed.upstream_code == "BAD_USER_INPUT"


def test_a_page_nulled_by_an_issues_error_is_marked_for_another_read(upstreams: Upstreams) -> None:
    result = GraphQLResult(
        data=None, errors=[nested_error(["k1", "nodes", 4, "i0", "nodes", 0, "title"], "INTERNAL")], extensions=None
    )

    assert upstreams[PROJECTS_SLOT].split_nested(result, [*WANTED, *WANTED]) == [None, None]


def test_an_error_elsewhere_in_the_page_fails_the_page_as_before(upstreams: Upstreams) -> None:
    result = GraphQLResult(data={"k0": None}, errors=[nested_error(["k0", "nodes", 1, "id"])], extensions=None)

    [answer] = upstreams[PROJECTS_SLOT].split_nested(result, WANTED)

    assert isinstance(answer, UpstreamStatusError)
    assert answer.upstream_code == "BAD_USER_INPUT"


def test_a_malformed_nested_issues_page_is_located_on_its_key(upstreams: Upstreams) -> None:
    result = GraphQLResult(data={"k0": page_value({"nodes": []})}, errors=[], extensions=None)

    [answer] = upstreams[PROJECTS_SLOT].split_nested(result, WANTED)

    assert isinstance(answer, ProjectsWithIssues)
    failed = answer.issues[IssuesArgs(3).key("proj-0")]
    assert isinstance(failed, UpstreamInvalidResponse)
    assert failed.code == "UPSTREAM_INVALID_RESPONSE"
    assert "k0.nodes.0.i0.totalCount" in failed.message


def test_an_outage_code_below_a_root_field_is_that_fields_error_not_an_outage(upstreams: Upstreams) -> None:
    """Retrying the request would not help the field, and the re-read keeps the page."""
    result = GraphQLResult(
        data=None, errors=[nested_error(["k0", "nodes", 2, "i0"], "SERVICE_UNAVAILABLE")], extensions=None
    )

    assert graphql_outage("projects", result.data, result.errors) is None
    assert upstreams[PROJECTS_SLOT].split_nested(result, WANTED) == [None]


def issue(n: int, project_id: str) -> dict[str, Any]:
    return {"id": f"issue-{n}", "title": "T", "state": "OPEN", "assigneeId": None, "projectId": project_id}


def test_a_clean_nested_answer_is_read_in_one_pass_as_the_plain_one_is_split(upstreams: Upstreams) -> None:
    issues = {"totalCount": 2, "pageInfo": {"hasNextPage": True, "endCursor": "c"}, "nodes": [issue(1, "proj-0")]}
    body = orjson.dumps({"data": {"k0": page_value(issues)}, "extensions": {"rateLimit": {"remaining": 9}}})

    typed = read_result(body, upstream="projects", answer=projects_answer((1,)))
    plain = read_result(body, upstream="projects")

    assert not isinstance(typed.data, dict)
    assert isinstance(plain.data, dict)
    [split] = upstreams[PROJECTS_SLOT].split_nested(GraphQLResult(plain.data, [], None), WANTED)
    assert isinstance(split, ProjectsWithIssues)
    page = typed.data.k0
    assert (page.total_count, [project.id for project in page.nodes]) == (1, ["proj-0"])
    assert page.nodes[0].i0 == split.issues[IssuesArgs(3).key("proj-0")]


def test_a_nested_answer_that_does_not_match_fails_its_key_as_before(upstreams: Upstreams) -> None:
    """The one-pass read refuses it; split key by key, it is the same located error as ever."""
    body = orjson.dumps({"data": {"k0": page_value({"nodes": []})}})

    result = read_result(body, upstream="projects", answer=projects_answer((1,)))

    assert isinstance(result.data, dict)
    [answer] = upstreams[PROJECTS_SLOT].split_nested(GraphQLResult(result.data, [], None), WANTED)
    assert isinstance(answer, ProjectsWithIssues)
    failed = answer.issues[IssuesArgs(3).key("proj-0")]
    assert isinstance(failed, UpstreamInvalidResponse)
    assert failed.message == "invalid response at k0.nodes.0.i0.totalCount: missing"
