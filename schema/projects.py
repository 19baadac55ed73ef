"""Projects and issues.

The objects of these types are the projects upstream's values themselves (``IssueNode``,
``IssuePage``, ``ProjectNode``, ``ProjectPage``: the GraphQL fields are their attributes, a state
its enum's value), not copies: the classes below declare the schema, and the fields with resolvers
take such a value as ``self``. Only federation's ``_entities`` builds an instance of a class here
(``Project.entity``): Strawberry tells the members of its union apart by their class.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Mapping, Sequence
from enum import Enum
from typing import TYPE_CHECKING, Annotated, Any

import strawberry

import resolvers.identity
import resolvers.projects
import schema.identity as identity_types
from clients.identity import USERS, IdentityUser
from clients.projects import ISSUES, PROJECTS, IssueNode, IssuePage, IssuesArgs, PageInfo, ProjectNode, ProjectPage
from resolvers.loaders import Loaders
from schema import ready
from schema.cache import served
from schema.common import GatewayInfo
from schema.common import PageInfo as PageInfoType
from schema.cost import reads
from schema.early_reads import start_reads_ahead
from schema.plans import answered_now, from_memo
from schema.ready import issue_page, issue_state
from schema.selection import Selection, pushdown, read_ahead, read_from

if TYPE_CHECKING:
    from schema.identity import User

UserRef = Annotated["User", strawberry.lazy("schema.identity")]
ProjectRef = Annotated["Project", strawberry.lazy("schema.projects")]


@strawberry.enum
class ProjectState(Enum):
    ACTIVE = "ACTIVE"
    ARCHIVED = "ARCHIVED"


@strawberry.enum
class IssueState(Enum):
    OPEN = "OPEN"
    CLOSED = "CLOSED"


def _assignees_from(
    loaders: Loaders, issues: Sequence[IssueNode], _args: Mapping[str, Any], _: Selection
) -> Sequence[asyncio.Future[Any]]:
    resolvers.identity.users_ahead(loaders, [issue.assignee_id for issue in issues])
    return ()


@strawberry.type
class Issue:
    id: strawberry.ID
    title: str
    state: IssueState
    assignee_id: strawberry.Private[str | None]
    project_id: strawberry.Private[str]

    @strawberry.field(
        graphql_type=UserRef | None,
        metadata={
            **reads(USERS),
            **from_memo("users", "assignee_id"),
            **answered_now(ready.assignee_now),
            **read_from(_assignees_from),
        },
    )
    def assignee(self, info: GatewayInfo) -> IdentityUser | Awaitable[IdentityUser | None] | None:
        user_id = self.assignee_id
        return None if user_id is None else identity_types.user_now_or_later(info, user_id)

    @strawberry.field(graphql_type=ProjectRef | None, metadata=reads(PROJECTS))
    async def project(self, info: GatewayInfo) -> ProjectNode | None:
        return await project_by_key(info, self.project_id)


@strawberry.type
class IssueConnection:
    total_count: int
    page_info: PageInfoType
    nodes: list[Issue]


async def project_by_key(info: GatewayInfo, project_id: str) -> ProjectNode | None:
    """A project resolved by its key: the reads its selection declares ``read_ahead`` go out beside its own."""
    loaders = info.context.loaders
    start_reads_ahead(loaders, project_id, info._raw_info, "Project")
    return served(info, await resolvers.projects.project(loaders, project_id))


def _issues_ahead(loaders: Loaders, project_id: str, args: Mapping[str, Any], _: Selection) -> object:
    return resolvers.projects.issues_future(loaders, project_id, args["first"], args.get("after"), issue_state(args))


def _issues_from(
    loaders: Loaders, projects: Sequence[ProjectNode], args: Mapping[str, Any], _: Selection
) -> Sequence[asyncio.Future[Any]]:
    project_ids = [project.id for project in projects]
    return resolvers.projects.issues_ahead(loaders, project_ids, args["first"], args.get("after"), issue_state(args))


def _owners_from(
    loaders: Loaders, projects: Sequence[ProjectNode], _args: Mapping[str, Any], _: Selection
) -> Sequence[asyncio.Future[Any]]:
    resolvers.identity.users_ahead(loaders, [project.owner_id for project in projects])
    return ()


def _issues_pushed_down(args: Mapping[str, Any]) -> IssuesArgs:
    return resolvers.projects.issues_args(args["first"], args.get("after"), issue_state(args))


@strawberry.federation.type(keys=["id"])
class Project:
    id: strawberry.ID
    name: str
    state: ProjectState
    owner_id: strawberry.Private[str]

    @classmethod
    def entity(cls, project: ProjectNode) -> Project:
        """An instance of this class, for federation's ``_entities``."""
        return cls(
            id=strawberry.ID(project.id),
            name=project.name,
            state=ProjectState(project.state),
            owner_id=project.owner_id,
        )

    @strawberry.field(
        graphql_type=UserRef | None,
        metadata={
            **reads(USERS),
            **from_memo("users", "owner_id"),
            **answered_now(ready.owner_now),
            **read_from(_owners_from),
        },
    )
    def owner(self, info: GatewayInfo) -> IdentityUser | Awaitable[IdentityUser | None] | None:
        return identity_types.user_now_or_later(info, self.owner_id)

    @strawberry.field(
        graphql_type=IssueConnection,
        metadata={
            **read_ahead(_issues_ahead),
            **read_from(_issues_from, then=issue_page),
            **pushdown(_issues_pushed_down),
            **answered_now(ready.issues_now),
            **reads(ISSUES, size="first"),
        },
    )
    def issues(
        self, info: GatewayInfo, first: int = 10, after: str | None = None, state: IssueState | None = None
    ) -> IssuePage | Awaitable[IssuePage]:
        """At once when the loader already holds the page (the projects request brought it).

        Then the assignees of every project's issues are asked for in the same tick as the
        owners, and go upstream in one identity batch with them.
        """
        found = resolvers.projects.issues_future(
            info.context.loaders, self.id, first, after, state.value if state else None
        )
        if found.done() and not found.cancelled():
            return issue_page(served(info, found.result()))
        return _issues_later(info, found)

    @classmethod
    async def resolve_reference(cls, info: GatewayInfo, id: strawberry.ID) -> Project | None:
        project = await project_by_key(info, str(id))
        return cls.entity(project) if project else None


async def _issues_later(info: GatewayInfo, found: Awaitable[IssuePage | None]) -> IssuePage:
    return issue_page(served(info, await found))


@strawberry.type
class ProjectConnection:
    total_count: int
    page_info: PageInfoType
    nodes: list[Project]


def project_page(page: ProjectPage | None) -> ProjectPage:
    """A ``ProjectConnection``: the page itself, or an empty one."""
    return ProjectPage(total_count=0, page_info=PageInfo(has_next_page=False), nodes=[]) if page is None else page
