"""The root Mutation: writes go straight to their upstream, then refresh this request's loaders.

Every mutation needs an authenticated caller with its write scope, and a PII input needs
``pii:write`` (declared here, enforced by ``schema.authorization`` before the resolver runs)."""

from __future__ import annotations

import strawberry

import resolvers.mutations
from clients.identity import IdentityUser
from clients.projects import IssueNode
from schema.authorization import InputRequiresScopes
from schema.billing import Invoice
from schema.common import GatewayInfo
from schema.cost import writes
from schema.identity import User
from schema.projects import Issue

PII_WRITE = [["pii:write"]]


@strawberry.input
class UpdateUserInput:
    name: str | None = None
    phone: str | None = strawberry.field(
        default=None,
        description="PII: giving it needs the `pii:write` scope.",
        directives=[InputRequiresScopes(scopes=PII_WRITE)],
    )


@strawberry.type
class Mutation:
    @strawberry.federation.mutation(
        authenticated=True,
        requires_scopes=[["users:write"]],
        description="Optimistic concurrency: `ifMatch` is the `etag` last read; a stale one is CONFLICT.",
        metadata=writes(),
        graphql_type=User,
    )
    async def update_user(
        self, info: GatewayInfo, id: strawberry.ID, input: UpdateUserInput, if_match: str
    ) -> IdentityUser:
        changes = {key: value for key, value in (("name", input.name), ("phone", input.phone)) if value is not None}
        user = await resolvers.mutations.update_user(info.context.upstreams, str(id), changes, if_match)
        await resolvers.mutations.remember_user(info.context.loaders, user)
        return user

    @strawberry.federation.mutation(
        authenticated=True,
        requires_scopes=[["billing:write"]],
        description="Paying twice with one `idempotencyKey` pays once and answers the same.",
        metadata=writes(),
    )
    async def pay_invoice(self, info: GatewayInfo, id: strawberry.ID, idempotency_key: str) -> Invoice:
        invoice = await resolvers.mutations.pay_invoice(info.context.upstreams, str(id), idempotency_key)
        await resolvers.mutations.forget(info.context.loaders, tags=(f"customer:{invoice.customer}",))
        return Invoice.from_model(invoice)

    @strawberry.federation.mutation(
        authenticated=True, requires_scopes=[["issues:write"]], metadata=writes(), graphql_type=Issue
    )
    async def create_issue(self, info: GatewayInfo, project_id: strawberry.ID, title: str) -> IssueNode:
        issue = await resolvers.mutations.create_issue(info.context.upstreams, str(project_id), title)
        await resolvers.mutations.forget(info.context.loaders, tags=(f"project:{issue.project_id}",))
        return issue

    @strawberry.federation.mutation(
        authenticated=True, requires_scopes=[["issues:write"]], metadata=writes(), graphql_type=Issue
    )
    async def close_issue(self, info: GatewayInfo, id: strawberry.ID) -> IssueNode:
        issue = await resolvers.mutations.close_issue(info.context.upstreams, str(id))
        await resolvers.mutations.forget(info.context.loaders, tags=(f"project:{issue.project_id}",))
        return issue
