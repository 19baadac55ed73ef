"""What the gateway sends the projects upstream, and the typed answers it reads back.

Every document is built from the upstream's schema as the gateway ships it
(``clients/projects.graphql``). The projects request asks one aliased ``projects`` field per key
(``k0``, ``k1``, ...) and in each key's projects its nested ``issues`` pages (``i0``, ``i1``, ...);
its clean answer is decoded in one pass into a type built for that shape (``projects_answer``).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import msgspec
from gql.dsl import DSLField, DSLInlineFragment, DSLMutation, DSLQuery, DSLSchema, DSLVariableDefinitions, dsl_gql
from graphql import DocumentNode, GraphQLSchema, build_schema

from clients.codec import StructCodec
from clients.graphql_answer import Answer, AnswerCodec
from clients.projects_values import IssuePage, PageInfo, ProjectNode

UPSTREAM_SCHEMA: GraphQLSchema = build_schema(Path(__file__).with_name("projects.graphql").read_text())
"""What the gateway relies on of the upstream's schema; every document below is built from it."""
_DS = DSLSchema(UPSTREAM_SCHEMA)


def _page_info(connection: Any) -> DSLField:
    field: DSLField = connection.pageInfo.select(_DS.PageInfo.hasNextPage, _DS.PageInfo.endCursor)
    return field


def _project_fields() -> tuple[DSLField, ...]:
    project = _DS.Project
    return (project.id, project.name, project.orgId, project.ownerId, project.state)


def _issue_fields() -> tuple[DSLField, ...]:
    """In ``IssueNode``'s order: the upstream answers in the selection's order, and msgspec matches
    each key at once when it is the field it expects next."""
    issue = _DS.Issue
    return (issue.id, issue.title, issue.state, issue.projectId, issue.assigneeId)


def _issue_connection(field: DSLField) -> DSLField:
    connection = _DS.IssueConnection
    nodes = connection.nodes.select(*_issue_fields())
    return field.select(connection.totalCount, _page_info(connection), nodes)


@lru_cache(maxsize=128)
def projects_document(shape: tuple[int, ...]) -> DocumentNode:
    """One aliased ``projects`` field per key (``k<i>``); ``shape[i]`` nested ``issues`` selections
    (``i<j>``) in key i's projects."""
    var = DSLVariableDefinitions()
    fields = []
    for i, nested in enumerate(shape):
        issues = [
            _issue_connection(
                _DS.Project.issues.alias(f"i{j}").args(
                    first=getattr(var, f"f{i}_{j}"), after=getattr(var, f"a{i}_{j}"), state=getattr(var, f"s{i}_{j}")
                )
            )
            for j in range(nested)
        ]
        connection = _DS.ProjectConnection
        page = _DS.Query.projects.alias(f"k{i}").args(
            orgId=getattr(var, f"o{i}"), first=getattr(var, f"f{i}"), after=getattr(var, f"a{i}")
        )
        nodes = connection.nodes.select(*_project_fields(), *issues)
        fields.append(page.select(connection.totalCount, _page_info(connection), nodes))
    query = DSLQuery(*fields)
    query.variable_definitions = var
    return dsl_gql(MobiusProjects=query).document


_PROJECT_FIELDS = [
    (field.name, field.type) if field.required else (field.name, field.type, field.default)
    for field in msgspec.structs.fields(ProjectNode)
]
"""``ProjectNode``'s fields, as ``msgspec.defstruct`` takes them."""


@lru_cache(maxsize=32)
def _nested_page(nested: int) -> Any:
    """A projects page whose projects carry ``nested`` issue pages (``i0``, ``i1``, ...)."""
    project = msgspec.defstruct(
        f"NestedProject{nested}",
        [*_PROJECT_FIELDS, *((f"i{j}", IssuePage) for j in range(nested))],
        frozen=True,
        rename="camel",
    )
    return msgspec.defstruct(
        f"NestedProjectPage{nested}",
        [("total_count", int), ("page_info", PageInfo), ("nodes", list[project])],  # type: ignore[valid-type]  # built above
        frozen=True,
        rename="camel",
    )


@lru_cache(maxsize=128)
def projects_answer(shape: tuple[int, ...]) -> AnswerCodec:
    """The typed answer of the projects request for keys asking ``shape[i]`` nested issue pages:
    one page per key, none of them null."""
    data: Any = msgspec.defstruct(
        "MobiusProjectsData", [(f"k{i}", _nested_page(nested)) for i, nested in enumerate(shape)], frozen=True
    )
    return StructCodec(Answer[data])


@lru_cache(maxsize=128)
def issues_document(count: int) -> DocumentNode:
    var = DSLVariableDefinitions()
    fields = [
        _DS.Query.node.alias(f"k{i}")
        .args(id=getattr(var, f"p{i}"))
        .select(
            DSLInlineFragment()
            .on(_DS.Project)
            .select(
                _issue_connection(
                    _DS.Project.issues.args(
                        first=getattr(var, f"f{i}"), after=getattr(var, f"a{i}"), state=getattr(var, f"s{i}")
                    )
                )
            )
        )
        for i in range(count)
    ]
    query = DSLQuery(*fields)
    query.variable_definitions = var
    return dsl_gql(MobiusIssues=query).document


def _nodes_document() -> DocumentNode:
    var = DSLVariableDefinitions()
    query = DSLQuery(
        _DS.Query.nodes.args(ids=var.ids).select(DSLInlineFragment().on(_DS.Project).select(*_project_fields()))
    )
    query.variable_definitions = var
    return dsl_gql(MobiusProjectNodes=query).document


def _issue_mutation(name: str, **arguments: str) -> DocumentNode:
    var = DSLVariableDefinitions()
    field: DSLField = getattr(_DS.Mutation, name)
    mutation = DSLMutation(
        field.args(**{argument: getattr(var, variable) for argument, variable in arguments.items()}).select(
            *_issue_fields()
        )
    )
    mutation.variable_definitions = var
    return dsl_gql(**{f"Mobius{name[0].upper()}{name[1:]}": mutation}).document


NODES_DOCUMENT = _nodes_document()
CREATE_ISSUE = _issue_mutation("createIssue", projectId="projectId", title="title")
CLOSE_ISSUE = _issue_mutation("closeIssue", id="id")
