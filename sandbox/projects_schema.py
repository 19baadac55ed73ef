"""The projects upstream's GraphQL schema (from SDL) and its resolvers over the seed.

Resolvers read the upstream's data from the execution context, so one schema object serves every
app instance; each resolved connection adds 1 to the request's rate-limit cost.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from typing import Any, cast

from graphql import GraphQLError, GraphQLObjectType, GraphQLResolveInfo, GraphQLSchema, build_schema

from sandbox.models import JSON, Issue, ProjectsData, numeric_id
from sandbox.params import parse_digits

SDL = """
interface Node { id: ID! }
enum ProjectState { ACTIVE ARCHIVED }
enum IssueState { OPEN CLOSED }
type PageInfo { hasNextPage: Boolean! endCursor: String }
type Project implements Node {
  id: ID! name: String! orgId: ID! ownerId: ID! state: ProjectState!
  issues(first: Int = 10, after: String, state: IssueState): IssueConnection!
}
type Issue implements Node {
  id: ID! title: String! state: IssueState! assigneeId: ID projectId: ID!
}
type ProjectConnection { totalCount: Int! pageInfo: PageInfo! nodes: [Project!]! }
type IssueConnection { totalCount: Int! pageInfo: PageInfo! nodes: [Issue!]! }
type Query {
  node(id: ID!): Node
  nodes(ids: [ID!]!): [Node]!
  projects(orgId: ID!, first: Int = 20, after: String): ProjectConnection!
}
type Mutation {
  createIssue(projectId: ID!, title: String!): Issue!
  closeIssue(id: ID!): Issue!
}
"""

MAX_FIRST = 100
MAX_NODES = 100


@dataclass(slots=True)
class ProjectsContext:
    """Per-request execution context: the upstream's data and the cost accrued so far."""

    data: ProjectsData
    connections: int = 0
    changes: list[tuple[str, Issue]] = field(default_factory=list)
    """Issues this request changed (``opened``, ``closed``), for the upstream's webhooks."""


def _error(message: str, code: str) -> GraphQLError:
    return GraphQLError(message, extensions={"code": code})


def _encode_cursor(entity_id: str) -> str:
    return base64.b64encode(f"cursor:{numeric_id(entity_id)}".encode()).decode()


def _decode_cursor(cursor: str) -> int:
    try:
        kind, _, value = base64.b64decode(cursor.encode(), validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise _error(f"Invalid cursor {cursor!r}.", "BAD_USER_INPUT") from exc
    position = parse_digits(value)
    if kind != "cursor" or position is None:
        raise _error(f"Invalid cursor {cursor!r}.", "BAD_USER_INPUT")
    return position


def _connection(
    info: GraphQLResolveInfo[ProjectsContext], ids: list[str], first: int | None, after: str | None
) -> JSON:
    """A page of `ids` (ordered by numeric id) after the cursor; nodes are left as ids."""
    if first is None or not 0 <= first <= MAX_FIRST:
        raise _error(f"`first` must be between 0 and {MAX_FIRST}.", "BAD_USER_INPUT")
    info.context.connections += 1
    start = 0
    if after is not None:
        last = _decode_cursor(after)
        start = next((i for i, e in enumerate(ids) if numeric_id(e) > last), len(ids))
    page = ids[start : start + first]
    return {
        "totalCount": len(ids),
        "pageInfo": {
            "hasNextPage": start + len(page) < len(ids),
            "endCursor": _encode_cursor(page[-1]) if page else None,
        },
        "page": page,
    }


def _lookup(data: ProjectsData, node_id: str) -> JSON | None:
    entity = data.projects.get(node_id) or data.issues.get(node_id)
    return entity.to_graphql() if entity is not None else None


def resolve_node(_root: None, info: GraphQLResolveInfo[ProjectsContext], id: str) -> JSON | None:
    return _lookup(info.context.data, id)


def resolve_nodes(_root: None, info: GraphQLResolveInfo[ProjectsContext], ids: list[str]) -> list[JSON | None]:
    if len(ids) > MAX_NODES:
        raise _error(f"`nodes` accepts at most {MAX_NODES} ids.", "BAD_USER_INPUT")
    data = info.context.data
    return [_lookup(data, i) for i in ids]


def resolve_projects(
    _root: None,
    info: GraphQLResolveInfo[ProjectsContext],
    orgId: str,
    first: int | None,
    after: str | None = None,
) -> JSON:
    data = info.context.data
    connection = _connection(info, data.projects_by_org.get(orgId, []), first, after)
    connection["nodes"] = [data.projects[i].to_graphql() for i in connection.pop("page")]
    return connection


def resolve_issues(
    project: JSON,
    info: GraphQLResolveInfo[ProjectsContext],
    first: int | None,
    after: str | None = None,
    state: str | None = None,
) -> JSON:
    data = info.context.data
    ids = [i for i in data.issues_by_project.get(project["id"], []) if state is None or data.issues[i].state == state]
    connection = _connection(info, ids, first, after)
    connection["nodes"] = [data.issues[i].to_graphql() for i in connection.pop("page")]
    return connection


def resolve_create_issue(
    _root: None,
    info: GraphQLResolveInfo[ProjectsContext],
    projectId: str,
    title: str,
) -> JSON:
    data = info.context.data
    if projectId not in data.projects:
        raise _error(f"No project with id {projectId!r}.", "NOT_FOUND")
    if not title.strip():
        raise _error("title must not be blank.", "BAD_USER_INPUT")
    issue = Issue(
        id=f"issue-{data.next_issue_number}",
        title=title,
        state="OPEN",
        assignee_id=None,
        project_id=projectId,
    )
    data.next_issue_number += 1
    data.issues[issue.id] = issue
    data.issues_by_project[projectId].append(issue.id)
    info.context.changes.append(("opened", issue))
    return issue.to_graphql()


def resolve_close_issue(_root: None, info: GraphQLResolveInfo[ProjectsContext], id: str) -> JSON:
    issue = info.context.data.issues.get(id)
    if issue is None:
        raise _error(f"No issue with id {id!r}.", "NOT_FOUND")
    issue.state = "CLOSED"
    info.context.changes.append(("closed", issue))
    return issue.to_graphql()


def build_projects_schema() -> GraphQLSchema:
    schema = build_schema(SDL)
    resolvers: dict[str, dict[str, Any]] = {
        "Query": {"node": resolve_node, "nodes": resolve_nodes, "projects": resolve_projects},
        "Mutation": {"createIssue": resolve_create_issue, "closeIssue": resolve_close_issue},
        "Project": {"issues": resolve_issues},
    }
    for type_name, fields in resolvers.items():
        graphql_type = cast(GraphQLObjectType, schema.get_type(type_name))
        for field_name, resolver in fields.items():
            graphql_type.fields[field_name].resolve = resolver
    return schema


SCHEMA = build_projects_schema()
