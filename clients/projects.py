"""projects: a GraphQL upstream. Calls of one tick are merged into one aliased request.

A projects page can carry its projects' issue pages in the same request (a nested ``issues``
selection per distinct argument set, aliased ``i0``, ``i1``, ...). The upstream's ``issues`` and
``nodes`` are non-null, so an error inside one project's issues nulls the whole answer: such a page
is then read again without its issues, and the caller loads them on their own.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from graphql import DocumentNode, parse
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from clients.errors import UpstreamError, UpstreamInvalidResponse, UpstreamStatusError
from clients.graphql import GraphQLResult, GraphQLUpstream


class PageInfo(BaseModel):
    model_config = ConfigDict(frozen=True, populate_by_name=True)

    has_next_page: bool = Field(alias="hasNextPage")
    end_cursor: str | None = Field(default=None, alias="endCursor")


class ProjectNode(BaseModel):
    model_config = ConfigDict(frozen=True, populate_by_name=True)

    id: str
    name: str
    org_id: str = Field(alias="orgId")
    owner_id: str = Field(alias="ownerId")
    state: str


class IssueNode(BaseModel):
    model_config = ConfigDict(frozen=True, populate_by_name=True)

    id: str
    title: str
    state: str
    assignee_id: str | None = Field(default=None, alias="assigneeId")
    project_id: str = Field(alias="projectId")


class ProjectPage(BaseModel):
    model_config = ConfigDict(frozen=True, populate_by_name=True)

    total_count: int = Field(alias="totalCount")
    page_info: PageInfo = Field(alias="pageInfo")
    nodes: list[ProjectNode]


class IssuePage(BaseModel):
    model_config = ConfigDict(frozen=True, populate_by_name=True)

    total_count: int = Field(alias="totalCount")
    page_info: PageInfo = Field(alias="pageInfo")
    nodes: list[IssueNode]


@dataclass(frozen=True, slots=True)
class ProjectsKey:
    org_id: str
    first: int
    after: str | None = None


@dataclass(frozen=True, slots=True)
class IssuesKey:
    project_id: str
    first: int
    after: str | None = None
    state: str | None = None


@dataclass(frozen=True, slots=True)
class IssuesArgs:
    """The arguments of one ``issues`` page, for every project of a projects page."""

    first: int
    after: str | None = None
    state: str | None = None

    def key(self, project_id: str) -> IssuesKey:
        return IssuesKey(project_id, self.first, self.after, self.state)


@dataclass(frozen=True, slots=True)
class ProjectsWithIssues:
    """A projects page and the issue pages fetched inside it (each a page or its own error);
    ``issues`` is empty when none were asked for or they had to be left out."""

    page: ProjectPage
    issues: dict[IssuesKey, IssuePage | UpstreamError]


_ISSUES_ALIAS = re.compile(r"i[0-9]+")
_STATUS_BY_GRAPHQL_CODE = {"NOT_FOUND": 404, "BAD_USER_INPUT": 400, "CONFLICT": 409}

_PAGE_INFO = "pageInfo { hasNextPage endCursor }"
_PROJECT_FIELDS = "id name orgId ownerId state"
_ISSUE_FIELDS = "id title state assigneeId projectId"


_ISSUE_PAGE = f"{{ totalCount {_PAGE_INFO} nodes {{ {_ISSUE_FIELDS} }} }}"
_NESTED_ISSUE_PAGE = f"{{ totalCount {_PAGE_INFO} nodes {{ id title state assigneeId }} }}"
"""Inside a project, an issue's ``projectId`` is that project's id: it is filled in, not asked."""


@lru_cache(maxsize=128)
def _projects_document(shape: tuple[int, ...]) -> DocumentNode:
    """One aliased ``projects`` field per key; ``shape[i]`` nested ``issues`` selections in key i's."""
    variables = []
    fields = []
    for i, nested in enumerate(shape):
        variables.append(f"$o{i}: ID!, $f{i}: Int, $a{i}: String")
        issues = ""
        for j in range(nested):
            variables.append(f"$f{i}_{j}: Int, $a{i}_{j}: String, $s{i}_{j}: IssueState")
            issues += f" i{j}: issues(first: $f{i}_{j}, after: $a{i}_{j}, state: $s{i}_{j}) {_NESTED_ISSUE_PAGE}"
        fields.append(
            f"k{i}: projects(orgId: $o{i}, first: $f{i}, after: $a{i}) "
            f"{{ totalCount {_PAGE_INFO} nodes {{ {_PROJECT_FIELDS}{issues} }} }}"
        )
    return parse(f"query MobiusProjects({', '.join(variables)}) {{ {' '.join(fields)} }}")


@lru_cache(maxsize=128)
def _issues_document(count: int) -> DocumentNode:
    variables = ", ".join(f"$p{i}: ID!, $f{i}: Int, $a{i}: String, $s{i}: IssueState" for i in range(count))
    fields = " ".join(
        f"k{i}: node(id: $p{i}) {{ ... on Project {{ issues(first: $f{i}, after: $a{i}, state: $s{i}) "
        f"{_ISSUE_PAGE} }} }}"
        for i in range(count)
    )
    return parse(f"query MobiusIssues({variables}) {{ {fields} }}")


_NODES_DOCUMENT = parse(
    f"query MobiusProjectNodes($ids: [ID!]!) {{ nodes(ids: $ids) {{ ... on Project {{ {_PROJECT_FIELDS} }} }} }}"
)


class ProjectsClient:
    def __init__(self, graphql: GraphQLUpstream) -> None:
        self.graphql = graphql
        self.name = graphql.name

    async def projects_pages(self, keys: Sequence[ProjectsKey]) -> list[ProjectPage | UpstreamError]:
        variables: dict[str, Any] = {}
        for i, key in enumerate(keys):
            variables.update({f"o{i}": key.org_id, f"f{i}": key.first, f"a{i}": key.after})
        result = await self.graphql.execute(_projects_document((0,) * len(keys)), variables)
        return [self._keyed(result, f"k{i}", ProjectPage.model_validate) for i in range(len(keys))]

    async def projects_with_issues(
        self, keys: Sequence[ProjectsKey], issues: Sequence[Sequence[IssuesArgs]]
    ) -> list[ProjectsWithIssues | UpstreamError]:
        """Pages of projects, each with the issue pages ``issues[i]`` of its projects, in one request.

        A page lost to an error inside some project's issues is read again without issues (one
        more request for all such keys); its issues are then left to the caller.
        """
        variables: dict[str, Any] = {}
        for i, key in enumerate(keys):
            variables.update({f"o{i}": key.org_id, f"f{i}": key.first, f"a{i}": key.after})
            for j, args in enumerate(issues[i]):
                variables.update({f"f{i}_{j}": args.first, f"a{i}_{j}": args.after, f"s{i}_{j}": args.state})
        shape = tuple(len(wanted) for wanted in issues)
        result = await self.graphql.execute(_projects_document(shape), variables)
        answers = self.split_nested(result, issues)
        lost = [key for key, answer in zip(keys, answers, strict=True) if answer is None]
        reread = iter(await self._pages_or_error(lost) if lost else [])
        return [answer if answer is not None else _without_issues(next(reread)) for answer in answers]

    async def _pages_or_error(self, keys: Sequence[ProjectsKey]) -> list[ProjectPage | UpstreamError]:
        try:
            return await self.projects_pages(keys)
        except UpstreamError as exc:
            return [exc for _ in keys]

    def split_nested(
        self, result: GraphQLResult, issues: Sequence[Sequence[IssuesArgs]]
    ) -> list[ProjectsWithIssues | UpstreamError | None]:
        """Each key's page and issue pages from one nested answer; ``None`` for a page that an
        error inside some project's issues took away (the upstream nulls up to the nearest
        nullable parent, for this upstream the whole answer)."""
        nested_errors: dict[tuple[str, int, str], dict[str, Any]] = {}
        other_errors: list[dict[str, Any]] = []
        for error in result.errors:
            location = _issues_location(error.get("path"))
            if location is None:
                other_errors.append(error)
            else:
                nested_errors.setdefault(location, error)
        if not nested_errors:
            plain = result
        else:
            plain = GraphQLResult(data=result.data, errors=other_errors, extensions=result.extensions)
        answers: list[ProjectsWithIssues | UpstreamError | None] = []
        for i, wanted in enumerate(issues):
            alias = f"k{i}"
            value: Any = result.data.get(alias) if result.data is not None else None
            if value is None and nested_errors and not _errors_at(other_errors, alias):
                answers.append(None)
                continue
            page = self._keyed(plain, alias, ProjectPage.model_validate)
            if isinstance(page, ProjectPage):
                issues_found = self._issues_of(alias, value["nodes"], page, wanted, nested_errors)
                answers.append(ProjectsWithIssues(page, issues_found))
            else:
                answers.append(page)
        return answers

    def _issues_of(
        self,
        alias: str,
        raw_nodes: list[dict[str, Any]],
        page: ProjectPage,
        wanted: Sequence[IssuesArgs],
        errors: dict[tuple[str, int, str], dict[str, Any]],
    ) -> dict[IssuesKey, IssuePage | UpstreamError]:
        found: dict[IssuesKey, IssuePage | UpstreamError] = {}
        for n, (raw, project) in enumerate(zip(raw_nodes, page.nodes, strict=True)):
            for j, args in enumerate(wanted):
                field = f"i{j}"
                error = errors.get((alias, n, field))
                if error is not None:
                    found[args.key(project.id)] = self._error_from([error])
                    continue
                try:
                    found[args.key(project.id)] = self._validate(
                        IssuePage.model_validate, _in_project(raw.get(field), project.id), f"{alias}.nodes.{n}.{field}"
                    )
                except UpstreamError as exc:
                    found[args.key(project.id)] = exc
        return found

    async def issue_pages(self, keys: Sequence[IssuesKey]) -> list[IssuePage | UpstreamError | None]:
        variables: dict[str, Any] = {}
        for i, key in enumerate(keys):
            variables.update({f"p{i}": key.project_id, f"f{i}": key.first, f"a{i}": key.after, f"s{i}": key.state})
        result = await self.graphql.execute(_issues_document(len(keys)), variables)
        return [self._keyed(result, f"k{i}", _issue_page) for i in range(len(keys))]

    async def projects_by_ids(self, ids: Sequence[str]) -> dict[str, ProjectNode]:
        result = await self.graphql.execute(_NODES_DOCUMENT, {"ids": list(ids)})
        nodes = self._data(result).get("nodes")
        if not isinstance(nodes, list):
            raise UpstreamInvalidResponse("nodes: expected a list", upstream=self.name)
        found: dict[str, ProjectNode] = {}
        for node in nodes:
            if node:
                project = self._validate(ProjectNode.model_validate, node, "nodes")
                found[project.id] = project
        return found

    async def create_issue(self, project_id: str, title: str) -> IssueNode:
        result = await self.graphql.execute(_CREATE_ISSUE, {"projectId": project_id, "title": title})
        return self._mutated(result, "createIssue")

    async def close_issue(self, issue_id: str) -> IssueNode:
        result = await self.graphql.execute(_CLOSE_ISSUE, {"id": issue_id})
        return self._mutated(result, "closeIssue")

    def _mutated(self, result: GraphQLResult, field: str) -> IssueNode:
        if result.errors:
            raise self._error_from(result.errors)
        issue: IssueNode = self._validate(IssueNode.model_validate, self._data(result).get(field), field)
        return issue

    def _data(self, result: GraphQLResult) -> dict[str, Any]:
        if result.data is None:
            raise self._error_from(result.errors)
        return result.data

    def _keyed(self, result: GraphQLResult, alias: str, parse_value: Any) -> Any:
        """The value at one alias, or the error the upstream reported for it."""
        for error in result.errors:
            path = error.get("path")
            if isinstance(path, list) and path and path[0] == alias:
                return self._error_from([error])
        data = self._data(result)
        if alias not in data:
            return UpstreamInvalidResponse(f"{alias}: missing from the answer", upstream=self.name)
        try:
            return self._validate(parse_value, data[alias], alias)
        except UpstreamError as exc:
            return exc

    def _validate(self, parse_value: Any, value: Any, where: str) -> Any:
        try:
            return parse_value(value)
        except ValidationError as exc:
            first = exc.errors()[0]
            location = ".".join(str(part) for part in (where, *first["loc"]))
            raise UpstreamInvalidResponse(
                f"invalid response at {location}: {first['type']}", upstream=self.name
            ) from None

    def _error_from(self, errors: list[dict[str, Any]]) -> UpstreamError:
        """An upstream GraphQL error, classified by its ``extensions.code`` (its text is not forwarded)."""
        if not errors:
            return UpstreamStatusError("the upstream answered no data", upstream=self.name, status=400)
        extensions = errors[0].get("extensions")
        code = extensions.get("code") if isinstance(extensions, dict) else None
        status = _STATUS_BY_GRAPHQL_CODE.get(code, 400) if isinstance(code, str) else 400
        return UpstreamStatusError(
            f"the upstream reported a GraphQL error ({code or 'no code'})",
            upstream=self.name,
            status=status,
            upstream_code=code if isinstance(code, str) else None,
        )


def _issues_location(path: Any) -> tuple[str, int, str] | None:
    """(key alias, project index, issues alias) of an error inside a nested issues selection."""
    if not isinstance(path, list) or len(path) < 4 or path[1] != "nodes":
        return None
    alias, index, field = path[0], path[2], path[3]
    if isinstance(alias, str) and isinstance(index, int) and isinstance(field, str) and _ISSUES_ALIAS.fullmatch(field):
        return alias, index, field
    return None


def _in_project(page: Any, project_id: str) -> Any:
    """A nested issue page with each issue's ``projectId`` filled in (see ``_NESTED_ISSUE_PAGE``);
    anything that is not a page is left for validation to reject."""
    nodes = page.get("nodes") if isinstance(page, dict) else None
    if isinstance(nodes, list):
        for node in nodes:
            if isinstance(node, dict):
                node["projectId"] = project_id
    return page


def _without_issues(page: ProjectPage | UpstreamError) -> ProjectsWithIssues | UpstreamError:
    return ProjectsWithIssues(page, {}) if isinstance(page, ProjectPage) else page


def _errors_at(errors: list[dict[str, Any]], alias: str) -> bool:
    return any(isinstance(path := error.get("path"), list) and path and path[0] == alias for error in errors)


def _issue_page(value: Any) -> IssuePage | None:
    if value is None:
        return None
    if not isinstance(value, dict) or "issues" not in value:
        raise ValidationError.from_exception_data(
            "IssuePage", [{"type": "missing", "loc": ("issues",), "input": value}]
        )
    return IssuePage.model_validate(value["issues"])


_CREATE_ISSUE = parse(
    "mutation MobiusCreateIssue($projectId: ID!, $title: String!) "
    f"{{ createIssue(projectId: $projectId, title: $title) {{ {_ISSUE_FIELDS} }} }}"
)
_CLOSE_ISSUE = parse(f"mutation MobiusCloseIssue($id: ID!) {{ closeIssue(id: $id) {{ {_ISSUE_FIELDS} }} }}")
