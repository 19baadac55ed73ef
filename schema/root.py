"""The root types and the schema object (an Apollo Federation v2 subgraph)."""

from __future__ import annotations

import time
from dataclasses import replace

import strawberry
from graphql import GraphQLError
from strawberry.types import ExecutionContext

import resolvers.identity
import resolvers.projects
from clients import health
from resolvers.read_ahead import start_organization_reads
from schema.authorization import guard_schema
from schema.cache import CacheStats, StaleMarks, cache_stats, served
from schema.common import GatewayInfo
from schema.context import ReleaseAfterOperation
from schema.documents import document_extensions
from schema.errors import ShapeErrors
from schema.execution import GatewayExecutionContext
from schema.fleet import Fleet, fleet_of
from schema.health import UpstreamHealth
from schema.identity import Organization, User, user_or_none
from schema.lookahead import organization_reads
from schema.mutations import Mutation
from schema.projects import Project
from schema.streamline import streamline_resolvers

LIVE_FIELDS: frozenset[str] = frozenset(
    {
        "Query.upstreams",  # breaker states, failure rates, in-flight calls: changes by the second
        "Query.cacheStats",  # counters
        "Query.fleet",  # every process's state
    }
)
"""Field coordinates (``Type.field``) whose values are the gateway's own live state, not built from
cached upstream data: the response cache never stores a document that selects one. Add new
operational fields here."""


@strawberry.type
class Query:
    @strawberry.field(description="The user the caller acts as, if the caller is bound to one.")
    async def viewer(self, info: GatewayInfo) -> User | None:
        user_id = info.context.caller.user_id
        if user_id is None:
            return None
        return user_or_none(served(info, await resolvers.identity.user(info.context.loaders, user_id)))

    @strawberry.field
    async def organization(self, info: GatewayInfo, id: strawberry.ID) -> Organization | None:
        loaders = info.context.loaders
        start_organization_reads(loaders, str(id), organization_reads(info._raw_info))
        org = served(info, await resolvers.identity.organization(loaders, str(id)))
        return Organization.from_model(org) if org else None

    @strawberry.field
    async def user(self, info: GatewayInfo, id: strawberry.ID) -> User | None:
        return user_or_none(served(info, await resolvers.identity.user(info.context.loaders, str(id))))

    @strawberry.field(description="Users in the order asked; null where an id is unknown.")
    async def users(self, info: GatewayInfo, ids: list[strawberry.ID]) -> list[User | None]:
        found = await resolvers.identity.users(info.context.loaders, [str(user_id) for user_id in ids])
        return [user_or_none(served(info, user, index=index)) for index, user in enumerate(found)]

    @strawberry.field
    async def project(self, info: GatewayInfo, id: strawberry.ID) -> Project | None:
        project = served(info, await resolvers.projects.project(info.context.loaders, str(id)))
        return Project.from_model(project) if project else None

    @strawberry.field(
        description="Each upstream with its base URL and circuit-breaker state.", graphql_type=list[UpstreamHealth]
    )
    def upstreams(self, info: GatewayInfo) -> tuple[health.UpstreamHealth, ...]:
        instance = info.context.instance
        return tuple(replace(row, instance=instance) for row in info.context.upstreams.health())

    @strawberry.field(
        description="Cache hits, misses, stale answers and store errors per cached type, in the process answering."
    )
    def cache_stats(self, info: GatewayInfo) -> CacheStats:
        return cache_stats(info)

    @strawberry.field(description="Every gateway process (replicas and their workers) and their totals.")
    async def fleet(self, info: GatewayInfo) -> Fleet:
        view = info.context.fleet
        if view is None:
            return fleet_of([], answered_by=info.context.instance, shared=False, now=time.time())
        return fleet_of(await view.reports(), answered_by=view.instance, shared=view.shared, now=time.time())


class MobiusSchema(strawberry.federation.Schema):
    def process_errors(self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None) -> None:
        """No-op: errors are shaped, and the unexpected ones logged once, by ``ShapeErrors``."""


def build_schema(*, max_depth: int = 12, max_aliases: int = 30, max_tokens: int = 5000) -> MobiusSchema:
    schema = MobiusSchema(
        query=Query,
        mutation=Mutation,
        types=[User, Organization, Project],
        federation_version="2.7",
        execution_context_class=GatewayExecutionContext,
        extensions=[
            ReleaseAfterOperation,
            ShapeErrors,
            StaleMarks,
            *document_extensions(max_depth=max_depth, max_aliases=max_aliases, max_tokens=max_tokens),
        ],
    )
    streamline_resolvers(schema)
    guard_schema(schema)
    return schema
