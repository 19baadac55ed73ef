"""The root types and the schema object (an Apollo Federation v2 subgraph)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import replace
from functools import partial
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import SchemaExtension
from strawberry.schema.schema import StreamResult
from strawberry.types import ExecutionContext
from strawberry.types.graphql import OperationType

import resolvers.identity
import resolvers.projects
from clients import health
from clients.identity import ORGS, USERS, IdentityOrg, IdentityUser
from clients.projects import PROJECTS, ProjectNode
from schema.authorization import guard_schema
from schema.cache import CacheStats, StaleMarks, cache_stats, served
from schema.common import GatewayInfo
from schema.context import GatewayContext, ReleaseAfterOperation
from schema.cost import reads
from schema.entities import Representations
from schema.errors import ShapeErrors, shape_error
from schema.events import Subscription
from schema.execution import GatewayExecutionContext
from schema.fleet import Fleet, fleet_of
from schema.health import UpstreamHealth
from schema.identity import Organization, User, organization_by_key
from schema.mutations import Mutation
from schema.operation_hook import OperationHook
from schema.operations import Documents, PreparedDocuments
from schema.projects import Project, project_by_key
from schema.sharing import SharedExecutions, SharingKey, sharing_key
from schema.streamline import streamline_resolvers
from schema.telemetry import OperationTelemetry

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
    @strawberry.field(
        graphql_type=User | None,
        description="The user the caller acts as, if the caller is bound to one.",
        metadata=reads(USERS),
    )
    async def viewer(self, info: GatewayInfo) -> IdentityUser | None:
        user_id = info.context.caller.user_id
        if user_id is None:
            return None
        return served(info, await resolvers.identity.user(info.context.loaders, user_id))

    @strawberry.field(graphql_type=Organization | None, metadata=reads(ORGS))
    async def organization(self, info: GatewayInfo, id: strawberry.ID) -> IdentityOrg | None:
        return await organization_by_key(info, str(id))

    @strawberry.field(graphql_type=User | None, metadata=reads(USERS))
    async def user(self, info: GatewayInfo, id: strawberry.ID) -> IdentityUser | None:
        return served(info, await resolvers.identity.user(info.context.loaders, str(id)))

    @strawberry.field(
        graphql_type=list[User | None],
        description="Users in the order asked; null where an id is unknown.",
        metadata=reads(USERS, size="ids"),
    )
    async def users(self, info: GatewayInfo, ids: list[strawberry.ID]) -> list[IdentityUser | None]:
        found = await resolvers.identity.users(info.context.loaders, [str(user_id) for user_id in ids])
        return [served(info, user, index=index) for index, user in enumerate(found)]

    @strawberry.field(graphql_type=Project | None, metadata=reads(PROJECTS))
    async def project(self, info: GatewayInfo, id: strawberry.ID) -> ProjectNode | None:
        return await project_by_key(info, str(id))

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
    """HTTP requests run on graphql-core's executor directly (``mobius.executor``); what Strawberry
    runs itself (operations over a WebSocket) gets the same parse and validation once
    ``use_documents`` is called, and the same error shaping, stale marks and release."""

    def process_errors(self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None) -> None:
        """Shape the errors resolvers raised in place (``shaped_errors`` logs the unexpected ones
        once): a subscription's, a refused subscribe's included, reach clients only through here.
        Syntax and validation errors stay as they are: the WebSocket protocols close on some."""
        errors[:] = [error if error.original_error is None else shape_error(error) for error in errors]

    def use_documents(self, documents: Documents) -> None:
        """Parse and validate through ``documents`` (their verdicts are shared with the HTTP path)."""
        self.extensions = (*self.extensions, partial(PreparedDocuments, documents, Representations(self)))
        self.documents = documents

    documents: Documents | None = None
    shared: SharedExecutions | None = None
    """Where subscribers whose results cannot differ share one execution per event (``schema.sharing``)."""

    async def stream(  # noqa: PLR0917  # Strawberry's signature
        self,
        query: str | None,
        variable_values: dict[str, Any] | None = None,
        context_value: Any | None = None,
        root_value: Any | None = None,
        operation_name: str | None = None,
        operation_extensions: dict[str, Any] | None = None,
        allowed_operation_types: Iterable[OperationType] | None = None,
    ) -> StreamResult:
        """A subscription that may share its execution joins the one running (``shared``)."""
        unshared = partial(
            super().stream,
            query,
            variable_values,
            root_value=root_value,
            operation_name=operation_name,
            operation_extensions=operation_extensions,
            allowed_operation_types=allowed_operation_types,
        )
        key = self._sharing_key(query, variable_values, context_value, root_value, operation_name, operation_extensions)
        allowed = allowed_operation_types is None or OperationType.SUBSCRIPTION in set(allowed_operation_types)
        if key is None or self.shared is None or not allowed or not isinstance(context_value, GatewayContext):
            return await unshared(context_value=context_value)
        return self.shared.join(key, context_value, lambda context: unshared(context_value=context))

    def _sharing_key(  # noqa: PLR0917
        self,
        query: str | None,
        variables: dict[str, Any] | None,
        context: Any,
        root_value: Any,
        operation_name: str | None,
        operation_extensions: dict[str, Any] | None,
    ) -> SharingKey | None:
        """A valid subscription's, when it may share (parsed through ``documents``, so capped and cached)."""
        if self.shared is None or self.documents is None or query is None or root_value is not None:
            return None
        if operation_extensions or not isinstance(context, GatewayContext):
            return None
        prepared = self.documents.prepare(query)
        if prepared.document is None or prepared.errors:
            return None
        operation = prepared.operation(operation_name)
        if isinstance(operation, GraphQLError):
            return None
        return sharing_key(self._schema, prepared.document, operation, variables, context.caller)


def build_schema(*, planned: bool = True, operations: OperationTelemetry | None = None) -> MobiusSchema:
    """``planned``: the planned executor and streamlined resolvers, which rely on internals of the
    pinned graphql-core and Strawberry (``schema.execution``); off, their stock execution.
    ``operations`` (the server's) puts each operation Strawberry runs itself (over a WebSocket) in
    metrics, traces and the request log; HTTP operations are observed by ``mobius.executor``."""
    observed: list[Callable[[], SchemaExtension]] = [] if operations is None else [partial(OperationHook, operations)]
    schema = MobiusSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        types=[User, Organization, Project],
        federation_version="2.7",
        execution_context_class=GatewayExecutionContext if planned else None,
        extensions=[*observed, ReleaseAfterOperation, ShapeErrors, StaleMarks],
    )
    if planned:
        streamline_resolvers(schema)
    guard_schema(schema)
    return schema
