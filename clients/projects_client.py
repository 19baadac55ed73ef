"""The projects upstream's client: the aliased requests a batch of keys becomes, and each key's
answer read from one GraphQL result (see ``clients.projects`` for the upstream's declaration).

A clean answer of the projects request (pages and nested issue pages) is decoded in one pass from
the response bytes into a type built for the request's shape (``clients.projects_documents``); an
answer with errors, or one that does not match, is split key by key as plain JSON, so that each key
gets its own error."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

from clients.codec import Invalid, StructCodec
from clients.declaration import Read
from clients.errors import UpstreamError, UpstreamInvalidResponse, graphql_error, invalid_response
from clients.fetched import Fetched
from clients.graphql import GraphQLResult, GraphQLUpstream
from clients.projects_documents import (
    CLOSE_ISSUE,
    CREATE_ISSUE,
    NODES_DOCUMENT,
    issues_document,
    projects_answer,
    projects_document,
)
from clients.projects_values import (
    IssueNode,
    IssuePage,
    IssuesArgs,
    IssuesKey,
    ProjectNode,
    ProjectPage,
    ProjectsKey,
    ProjectsWithIssues,
)

PROJECT_NODE_CODEC = StructCodec(ProjectNode)
ISSUE_NODE_CODEC = StructCodec(IssueNode)
PROJECT_PAGE_CODEC = StructCodec(ProjectPage)
ISSUE_PAGE_CODEC = StructCodec(IssuePage)

_ISSUES_ALIAS = re.compile(r"i[0-9]+")

_LOST = object()
"""A key whose answer the upstream dropped for another key's error (a non-null root nulls all data)."""


class ProjectsClient:
    def __init__(self, graphql: GraphQLUpstream) -> None:
        self.graphql = graphql
        self.name = graphql.name

    async def start(self) -> None:
        await self.graphql.start()

    async def close(self) -> None:
        await self.graphql.close()

    async def projects_pages(self, keys: Sequence[ProjectsKey]) -> list[ProjectPage | UpstreamError]:
        """One aliased request for all keys. The upstream's ``projects`` is non-null, so one key's
        error (a rejected cursor) nulls the whole answer: that key gets its error, and the keys it
        took down with it are read again without it."""
        variables: dict[str, Any] = {}
        for i, key in enumerate(keys):
            variables.update({f"o{i}": key.org_id, f"f{i}": key.first, f"a{i}": key.after})
        result = await self.graphql.execute(projects_document((0,) * len(keys)), variables)
        answers = [self._keyed(result, f"k{i}", PROJECT_PAGE_CODEC.convert) for i in range(len(keys))]
        lost = [key for key, answer in zip(keys, answers, strict=True) if answer is _LOST]
        reread = iter(await self._pages_or_error(lost) if lost else [])
        return [next(reread) if answer is _LOST else answer for answer in answers]

    async def projects_with_issues(self, keys: Sequence[ProjectsKey]) -> list[ProjectsWithIssues | UpstreamError]:
        """Pages of projects, each with the issue pages its key asks of its projects, in one request.

        A page lost to an error inside some project's issues is read again without issues (one
        more request for all such keys); its issues are then left to the caller.
        """
        variables: dict[str, Any] = {}
        for i, key in enumerate(keys):
            variables.update({f"o{i}": key.org_id, f"f{i}": key.first, f"a{i}": key.after})
            for j, args in enumerate(key.issues):
                variables.update({f"f{i}_{j}": args.first, f"a{i}_{j}": args.after, f"s{i}_{j}": args.state})
        shape = tuple(len(key.issues) for key in keys)
        result = await self.graphql.execute(projects_document(shape), variables, answer=projects_answer(shape))
        if result.typed is not None:
            return [_with_issues(getattr(result.typed, f"k{i}"), key) for i, key in enumerate(keys)]
        answers = self.split_nested(result, keys)
        lost = [key for key, answer in zip(keys, answers, strict=True) if answer is None]
        reread = iter(await self._pages_or_error(lost) if lost else [])
        return [answer if answer is not None else _without_issues(next(reread)) for answer in answers]

    async def _pages_or_error(self, keys: Sequence[ProjectsKey]) -> list[ProjectPage | UpstreamError]:
        try:
            return await self.projects_pages(keys)
        except UpstreamError as exc:
            return [exc for _ in keys]

    def split_nested(
        self, result: GraphQLResult, keys: Sequence[ProjectsKey]
    ) -> list[ProjectsWithIssues | UpstreamError | None]:
        """Each key's page and issue pages from one nested answer; ``None`` for a page that another
        key's error, or an error inside some project's issues, took away (the upstream nulls up to
        the nearest nullable parent, for this upstream the whole answer)."""
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
        for i, key in enumerate(keys):
            alias = f"k{i}"
            value: Any = result.data.get(alias) if result.data is not None else None
            if value is None and nested_errors and not _errors_at(other_errors, alias):
                answers.append(None)
                continue
            page = self._keyed(plain, alias, PROJECT_PAGE_CODEC.convert)
            if page is _LOST:
                answers.append(None)
            elif isinstance(page, ProjectPage):
                issues_found = self._issues_of(alias, value["nodes"], page, key.issues, nested_errors)
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
                    found[args.key(project.id)] = graphql_error(self.name, [error])
                    continue
                try:
                    found[args.key(project.id)] = self._validate(
                        ISSUE_PAGE_CODEC.convert, raw.get(field), f"{alias}.nodes.{n}.{field}"
                    )
                except UpstreamError as exc:
                    found[args.key(project.id)] = exc
        return found

    async def issue_pages(self, keys: Sequence[IssuesKey]) -> list[IssuePage | UpstreamError | None]:
        variables: dict[str, Any] = {}
        for i, key in enumerate(keys):
            variables.update({f"p{i}": key.project_id, f"f{i}": key.first, f"a{i}": key.after, f"s{i}": key.state})
        result = await self.graphql.execute(issues_document(len(keys)), variables)
        return [self._keyed(result, f"k{i}", _issue_page) for i in range(len(keys))]

    async def projects_by_ids(self, ids: Sequence[str]) -> dict[str, ProjectNode]:
        result = await self.graphql.execute(NODES_DOCUMENT, {"ids": list(ids)})
        nodes = self._data(result).get("nodes")
        if not isinstance(nodes, list):
            raise UpstreamInvalidResponse("nodes: expected a list", upstream=self.name)
        found: dict[str, ProjectNode] = {}
        for node in nodes:
            if node:
                project = self._validate(PROJECT_NODE_CODEC.convert, node, "nodes")
                found[project.id] = project
        return found

    async def create_issue(self, project_id: str, title: str) -> IssueNode:
        result = await self.graphql.execute(CREATE_ISSUE, {"projectId": project_id, "title": title})
        return self._mutated(result, "createIssue")

    async def close_issue(self, issue_id: str) -> IssueNode:
        result = await self.graphql.execute(CLOSE_ISSUE, {"id": issue_id})
        return self._mutated(result, "closeIssue")

    def _mutated(self, result: GraphQLResult, field: str) -> IssueNode:
        if result.errors:
            raise graphql_error(self.name, result.errors)
        issue: IssueNode = self._validate(ISSUE_NODE_CODEC.convert, self._data(result).get(field), field)
        return issue

    def _data(self, result: GraphQLResult) -> dict[str, Any]:
        if result.data is None:
            raise graphql_error(self.name, result.errors)
        return result.data

    def _keyed(self, result: GraphQLResult, alias: str, parse_value: Callable[[Any], Any]) -> Any:
        """The value at one alias, the error the upstream reported for it, or ``_LOST`` when another
        alias's error took the whole answer away."""
        for error in result.errors:
            path = error.get("path")
            if isinstance(path, list) and path and path[0] == alias:
                return graphql_error(self.name, [error])
        if result.data is None:
            if any(_aliased(error) for error in result.errors):
                return _LOST
            return graphql_error(self.name, result.errors)
        if alias not in result.data:
            return UpstreamInvalidResponse(f"{alias}: missing from the answer", upstream=self.name)
        try:
            return self._validate(parse_value, result.data[alias], alias)
        except UpstreamError as exc:
            return exc

    def _validate(self, parse_value: Callable[[Any], Any], value: Any, where: str) -> Any:
        try:
            return parse_value(value)
        except Invalid as exc:
            raise invalid_response(self.name, exc, where=where) from None


def _aliased(error: dict[str, Any]) -> bool:
    path = error.get("path")
    return isinstance(path, list) and bool(path) and isinstance(path[0], str)


def _issues_location(path: Any) -> tuple[str, int, str] | None:
    """(key alias, project index, issues alias) of an error inside a nested issues selection."""
    if not isinstance(path, list) or len(path) < 4 or path[1] != "nodes":
        return None
    alias, index, field = path[0], path[2], path[3]
    if isinstance(alias, str) and isinstance(index, int) and isinstance(field, str) and _ISSUES_ALIAS.fullmatch(field):
        return alias, index, field
    return None


def _with_issues(nested: Any, key: ProjectsKey) -> ProjectsWithIssues:
    """A page of ``_nested_page`` as the projects page and the issue pages it carries."""
    projects = nested.nodes
    page = ProjectPage(
        nested.total_count,
        nested.page_info,
        [ProjectNode(p.id, p.name, p.org_id, p.owner_id, p.state) for p in projects],
    )
    issues: dict[IssuesKey, IssuePage | UpstreamError] = {}
    for j, args in enumerate(key.issues):
        alias, first, after, state = f"i{j}", args.first, args.after, args.state
        for p in projects:
            issues[IssuesKey(p.id, first, after, state)] = getattr(p, alias)
    return ProjectsWithIssues(page, issues)


def _without_issues(page: ProjectPage | UpstreamError) -> ProjectsWithIssues | UpstreamError:
    return ProjectsWithIssues(page, {}) if isinstance(page, ProjectPage) else page


def _errors_at(errors: list[dict[str, Any]], alias: str) -> bool:
    return any(isinstance(path := error.get("path"), list) and path and path[0] == alias for error in errors)


def _issue_page(value: Any) -> IssuePage | None:
    if value is None:
        return None
    if not isinstance(value, dict) or "issues" not in value:
        raise Invalid(("issues",), "missing")
    try:
        return ISSUE_PAGE_CODEC.convert(value["issues"])
    except Invalid as exc:
        raise Invalid(("issues", *exc.location), exc.kind) from None


async def fetched_issue_pages(client: ProjectsClient, keys: Sequence[IssuesKey]) -> Fetched[IssuesKey]:
    return Fetched(await client.issue_pages(keys))


async def fetched_project_pages(
    client: ProjectsClient, keys: Sequence[ProjectsKey], issues: Read[ProjectsClient, IssuesKey, IssuePage]
) -> Fetched[ProjectsKey]:
    """The pages, and the issue pages that came with them as answers of ``issues``."""
    answers = await client.projects_with_issues(keys)
    pages = [answer.page if isinstance(answer, ProjectsWithIssues) else answer for answer in answers]
    nested = [
        (issues, key, page)
        for answer in answers
        if isinstance(answer, ProjectsWithIssues)
        for key, page in answer.issues.items()
    ]
    return Fetched(pages, nested)
