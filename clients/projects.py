"""projects: a GraphQL upstream. Calls of one tick are merged into one aliased request.

A projects page can carry its projects' issue pages in the same request (a nested ``issues``
selection per distinct argument set, aliased ``i0``, ``i1``, ...). The upstream's ``issues`` and
``nodes`` are non-null, so an error inside one project's issues nulls the whole answer: such a page
is then read again without its issues, and the caller loads them on their own.

This module declares the upstream (its reads, vendor and webhook); ``clients.projects_client``
makes the requests and reads their answers. The values are ``clients.projects_values``' Structs
(importable from here too).
"""

from __future__ import annotations

from collections.abc import Awaitable, Sequence
from typing import Literal

from clients.declaration import (
    EventFields,
    Fetched,
    Follow,
    Prime,
    Read,
    Touched,
    Upstream,
    Vendor,
    Webhook,
    WebhookEvent,
    by_ids,
    merged,
)
from clients.graphql import GraphQLUpstream
from clients.projects_client import (
    ISSUE_PAGE_CODEC,
    PROJECT_NODE_CODEC,
    PROJECT_PAGE_CODEC,
    ProjectsClient,
    fetched_issue_pages,
    fetched_project_pages,
)
from clients.projects_documents import UPSTREAM_SCHEMA, projects_answer
from clients.projects_values import (
    IssueNode,
    IssuePage,
    IssuesArgs,
    IssuesKey,
    PageInfo,
    ProjectNode,
    ProjectPage,
    ProjectsKey,
    ProjectsWithIssues,
)
from clients.webhooks import Ident, Payload, Timestamp, Version, Word, read_body

__all__ = [
    "ISSUES",
    "PROJECTS",
    "PROJECTS_API",
    "PROJECTS_SLOT",
    "PROJECT_PAGES",
    "UPSTREAM_SCHEMA",
    "IssueChange",
    "IssueNode",
    "IssuePage",
    "IssuesArgs",
    "IssuesKey",
    "PageInfo",
    "ProjectNode",
    "ProjectPage",
    "ProjectsClient",
    "ProjectsKey",
    "ProjectsWebhook",
    "ProjectsWithIssues",
    "parse_webhook",
    "projects_answer",
    "webhook_touches",
]


def _project_pages(client: ProjectsClient, keys: Sequence[ProjectsKey]) -> Awaitable[Fetched[ProjectsKey]]:
    return fetched_project_pages(client, keys, ISSUES)


PROJECTS: Read[ProjectsClient, str, ProjectNode] = Read(
    name="projects",
    codec=PROJECT_NODE_CODEC,
    fetch=by_ids(ProjectsClient.projects_by_ids),
    batch="by_ids",
    ttl_s=120.0,
    entity="Project",
    tags=lambda _key, project: (f"org:{project.org_id}", f"project:{project.id}"),
    links=lambda _key, project: ((f"org:{project.org_id}", f"project:{project.id}"),),
)
ISSUES: Read[ProjectsClient, IssuesKey, IssuePage] = Read(
    name="issues",
    codec=ISSUE_PAGE_CODEC,
    fetch=merged(fetched_issue_pages),
    batch="merged",
    pagination="cursor",
    ttl_s=30.0,
    key_parts=lambda key: (key.project_id, key.first, key.after, key.state),
    tags=lambda key, _page: (f"project:{key.project_id}",),
)
"""Issue pages of a project."""
PROJECT_PAGES: Read[ProjectsClient, ProjectsKey, ProjectPage] = Read(
    name="project_pages",
    codec=PROJECT_PAGE_CODEC,
    fetch=merged(_project_pages),
    batch="merged",
    pagination="cursor",
    ttl_s=60.0,
    key_parts=lambda key: (key.org_id, key.first, key.after),
    tags=lambda key, page: (f"org:{key.org_id}", *(f"Project:{project.id}" for project in page.nodes)),
    links=lambda key, page: tuple((f"org:{key.org_id}", f"project:{project.id}") for project in page.nodes),
    primes=(Prime(read=PROJECTS, items=lambda page: ((project.id, project) for project in page.nodes)),),
    follows=(
        Follow(
            read=ISSUES,
            keys=lambda key, page: (args.key(project.id) for args in key.issues for project in page.nodes),
        ),
    ),
)
"""A page of an organization's projects. Its key's issue pages come in the same request (cached as
``issues`` entries of their own, the page entry stays whole); for a page served from the cache they
are loaded in one batch before the page is handed out."""


class IssueChange(Payload):
    id: Ident
    project_id: Ident
    state: Word
    assignee_id: Ident | None = None
    version: Version


class ProjectsWebhook(Payload):
    """GitHub-style: ``action`` (opened, closed, assigned) on ``issue``."""

    action: Literal["opened", "closed", "assigned"]
    occurred_at: Timestamp
    issue: IssueChange


def parse_webhook(body: bytes) -> list[WebhookEvent]:
    hook = read_body(ProjectsWebhook, body)
    issue = hook.issue
    return [
        WebhookEvent(
            type=f"issue.{hook.action}",
            entity_type="Issue",
            entity_id=issue.id,
            version=issue.version,
            occurred_at=hook.occurred_at,
            data={"project_id": issue.project_id, "state": issue.state, "assignee_id": issue.assignee_id},
        )
    ]


def webhook_touches(event: EventFields) -> Touched:
    """Issues are cached in their project's issue pages."""
    return Touched(tags=(f"project:{event.data['project_id']}",))


PROJECTS_SLOT: Upstream[ProjectsClient] = Upstream(name="projects", reads=(PROJECTS, PROJECT_PAGES, ISSUES))
PROJECTS_API: Vendor[ProjectsClient] = Vendor(
    name="projects",
    serves=PROJECTS_SLOT,
    protocol="graphql",
    auth=("bearer", "api_key"),
    client=lambda http: ProjectsClient(GraphQLUpstream(http, path=http.policy.graphql_path)),
    webhook=Webhook(scheme="github_hmac_sha256", parse=parse_webhook, touches=webhook_touches),
)
