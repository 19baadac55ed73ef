"""Projects and issues."""

from __future__ import annotations

from collections.abc import Awaitable, Mapping
from enum import Enum
from typing import TYPE_CHECKING, Annotated, Any

import strawberry

import resolvers.identity
import resolvers.projects
import schema.identity as identity_types
from clients.identity import USERS
from clients.projects import ISSUES, PROJECTS, IssueNode, IssuePage, IssuesArgs, ProjectNode, ProjectPage
from resolvers.loaders import Loaders
from schema.cache import served
from schema.common import GatewayInfo, PageInfo
from schema.cost import reads
from schema.selection import Selection, pushdown, read_ahead, start_reads_ahead

if TYPE_CHECKING:
    from schema.identity import User

UserRef = Annotated["User", strawberry.lazy("schema.identity")]


@strawberry.enum
class ProjectState(Enum):
    ACTIVE = "ACTIVE"
    ARCHIVED = "ARCHIVED"


@strawberry.enum
class IssueState(Enum):
    OPEN = "OPEN"
    CLOSED = "CLOSED"


_ISSUE_STATES = {state.value: state for state in IssueState}
_PROJECT_STATES = {state.value: state for state in ProjectState}
"""Members by value: a dict lookup where ``IssueState(value)`` costs an enum call per issue; an
unknown value still fails as the enum call would."""


@strawberry.type
class Issue:
    id: strawberry.ID
    title: str
    state: IssueState
    assignee_id: strawberry.Private[str | None]
    project_id: strawberry.Private[str]

    @classmethod
    def from_model(cls, issue: IssueNode) -> Issue:
        return cls(
            id=strawberry.ID(issue.id),
            title=issue.title,
            state=_ISSUE_STATES.get(issue.state) or IssueState(issue.state),
            assignee_id=issue.assignee_id,
            project_id=issue.project_id,
        )

    @strawberry.field(graphql_type=UserRef | None, metadata=reads(USERS))
    def assignee(self, info: GatewayInfo) -> User | Awaitable[User | None] | None:
        if self.assignee_id is None:
            return None
        return identity_types.user_now_or_later(info, self.assignee_id)

    @strawberry.field(metadata=reads(PROJECTS))
    async def project(self, info: GatewayInfo) -> Project | None:
        return await project_by_key(info, self.project_id)


@strawberry.type
class IssueConnection:
    total_count: int
    page_info: PageInfo
    nodes: list[Issue]

    @classmethod
    def from_page(cls, page: IssuePage | None) -> IssueConnection:
        if page is None:
            return cls(total_count=0, page_info=PageInfo(has_next_page=False, end_cursor=None), nodes=[])
        return cls(
            total_count=page.total_count,
            page_info=PageInfo(has_next_page=page.page_info.has_next_page, end_cursor=page.page_info.end_cursor),
            nodes=[Issue.from_model(issue) for issue in page.nodes],
        )


async def project_by_key(info: GatewayInfo, project_id: str) -> Project | None:
    """A project resolved by its key: the reads its selection declares ``read_ahead`` go out beside its own."""
    loaders = info.context.loaders
    start_reads_ahead(loaders, project_id, info._raw_info, "Project")
    project = served(info, await resolvers.projects.project(loaders, project_id))
    return Project.from_model(project) if project else None


def _state(args: Mapping[str, Any]) -> str | None:
    state = args.get("state")  # a member of the Python enum behind ``IssueState``
    return state.value if isinstance(state, IssueState) else None


def _issues_ahead(loaders: Loaders, project_id: str, args: Mapping[str, Any], _: Selection) -> object:
    return resolvers.projects.issues_future(loaders, project_id, args["first"], args.get("after"), _state(args))


def _issues_pushed_down(args: Mapping[str, Any]) -> IssuesArgs:
    return resolvers.projects.issues_args(args["first"], args.get("after"), _state(args))


@strawberry.federation.type(keys=["id"])
class Project:
    id: strawberry.ID
    name: str
    state: ProjectState
    owner_id: strawberry.Private[str]

    @classmethod
    def from_model(cls, project: ProjectNode) -> Project:
        return cls(
            id=strawberry.ID(project.id),
            name=project.name,
            state=_PROJECT_STATES.get(project.state) or ProjectState(project.state),
            owner_id=project.owner_id,
        )

    @strawberry.field(graphql_type=UserRef | None, metadata=reads(USERS))
    def owner(self, info: GatewayInfo) -> User | Awaitable[User | None] | None:
        return identity_types.user_now_or_later(info, self.owner_id)

    @strawberry.field(
        graphql_type=IssueConnection,
        metadata={**read_ahead(_issues_ahead), **pushdown(_issues_pushed_down), **reads(ISSUES, size="first")},
    )
    def issues(
        self, info: GatewayInfo, first: int = 10, after: str | None = None, state: IssueState | None = None
    ) -> IssueConnection | Awaitable[IssueConnection]:
        """At once when the loader already holds the page (the projects request brought it).

        Then the assignees of every project's issues are asked for in the same tick as the
        owners, and go upstream in one identity batch with them.
        """
        found = resolvers.projects.issues_future(
            info.context.loaders, str(self.id), first, after, state.value if state else None
        )
        if found.done() and not found.cancelled():
            return IssueConnection.from_page(served(info, found.result()))
        return _issues_later(info, found)

    @classmethod
    async def resolve_reference(cls, info: GatewayInfo, id: strawberry.ID) -> Project | None:
        return await project_by_key(info, str(id))


async def _issues_later(info: GatewayInfo, found: Awaitable[IssuePage | None]) -> IssueConnection:
    return IssueConnection.from_page(served(info, await found))


@strawberry.type
class ProjectConnection:
    total_count: int
    page_info: PageInfo
    nodes: list[Project]

    @classmethod
    def from_page(cls, page: ProjectPage | None) -> ProjectConnection:
        if page is None:
            return cls(total_count=0, page_info=PageInfo(has_next_page=False, end_cursor=None), nodes=[])
        return cls(
            total_count=page.total_count,
            page_info=PageInfo(has_next_page=page.page_info.has_next_page, end_cursor=page.page_info.end_cursor),
            nodes=[Project.from_model(project) for project in page.nodes],
        )
