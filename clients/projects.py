"""projects: a GraphQL upstream. Calls of one tick are merged into one aliased request."""

from __future__ import annotations

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


_STATUS_BY_GRAPHQL_CODE = {"NOT_FOUND": 404, "BAD_USER_INPUT": 400, "CONFLICT": 409}

_PAGE_INFO = "pageInfo { hasNextPage endCursor }"
_PROJECT_FIELDS = "id name orgId ownerId state"
_ISSUE_FIELDS = "id title state assigneeId projectId"


@lru_cache(maxsize=128)
def _projects_document(count: int) -> DocumentNode:
    variables = ", ".join(f"$o{i}: ID!, $f{i}: Int, $a{i}: String" for i in range(count))
    fields = " ".join(
        f"k{i}: projects(orgId: $o{i}, first: $f{i}, after: $a{i}) "
        f"{{ totalCount {_PAGE_INFO} nodes {{ {_PROJECT_FIELDS} }} }}"
        for i in range(count)
    )
    return parse(f"query MobiusProjects({variables}) {{ {fields} }}")


@lru_cache(maxsize=128)
def _issues_document(count: int) -> DocumentNode:
    variables = ", ".join(f"$p{i}: ID!, $f{i}: Int, $a{i}: String, $s{i}: IssueState" for i in range(count))
    fields = " ".join(
        f"k{i}: node(id: $p{i}) {{ ... on Project {{ issues(first: $f{i}, after: $a{i}, state: $s{i}) "
        f"{{ totalCount {_PAGE_INFO} nodes {{ {_ISSUE_FIELDS} }} }} }} }}"
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
        result = await self.graphql.execute(_projects_document(len(keys)), variables)
        return [self._keyed(result, f"k{i}", ProjectPage.model_validate) for i in range(len(keys))]

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
