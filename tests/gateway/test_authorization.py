"""Authorization declared beside the types: every mutation needs an authenticated caller with its
write scope, PII needs `pii:read` to read and `pii:write` to write. A refused write never reaches
its upstream (the sandbox's counters say so), and fields without a rule keep their plain path."""

from __future__ import annotations

from typing import Any

import pytest
import strawberry
from harness import ADMIN_HEADERS, Gateway, Sandbox

from schema.authorization import guard_schema, is_guarded
from schema.plans import LeafPlan, plan_field
from schema.root import build_schema

WRITE_SCOPES = {"users:write", "billing:write", "issues:write"}
MUTATIONS = {
    "updateUser": ('mutation { updateUser(id: "user-7", input: {name: "Eve"}, ifMatch: "*") { name } }', "users:write"),
    "payInvoice": ('mutation { payInvoice(id: "in_1", idempotencyKey: "k-auth") { status } }', "billing:write"),
    "createIssue": ('mutation { createIssue(projectId: "proj-2", title: "Sneaky") { id } }', "issues:write"),
    "closeIssue": ('mutation { closeIssue(id: "issue-1") { state } }', "issues:write"),
}
UPDATE_PHONE = """mutation ($input: UpdateUserInput!) {
  updateUser(id: "user-7", input: $input, ifMatch: "*") { name }
}"""
PHONE_OF_USER_7 = '{ user(id: "user-7") { phone } }'


async def bearer(sandbox: Sandbox, *scopes: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {await sandbox.mint_token(sub='user-1', scopes=list(scopes))}"}


async def refused_without_upstream_requests(
    gateway: Gateway, sandbox: Sandbox, query: str, headers: dict[str, str] | None, variables: Any = None
) -> dict[str, Any]:
    before = await sandbox.api_requests()
    answer = await gateway.query(query, variables, headers=headers)
    assert await sandbox.api_requests() == before, "the refused write reached an upstream"
    assert answer["data"] is None
    (error,) = answer["errors"]
    return error


@pytest.mark.parametrize("field", MUTATIONS)
async def test_an_anonymous_mutation_is_unauthenticated_and_reaches_no_upstream(
    gateway: Gateway, sandbox: Sandbox, field: str
) -> None:
    error = await refused_without_upstream_requests(gateway, sandbox, MUTATIONS[field][0], None)
    assert error["extensions"] == {"code": "UNAUTHENTICATED"}
    assert error["path"] == [field]


@pytest.mark.parametrize("field", MUTATIONS)
async def test_a_mutation_without_its_write_scope_is_forbidden_and_reaches_no_upstream(
    gateway: Gateway, sandbox: Sandbox, field: str
) -> None:
    query, scope = MUTATIONS[field]
    headers = await bearer(sandbox, *(WRITE_SCOPES - {scope}), "pii:read", "pii:write", "cache:admin")

    error = await refused_without_upstream_requests(gateway, sandbox, query, headers)

    assert error["extensions"] == {"code": "FORBIDDEN"}
    assert scope in error["message"]


@pytest.mark.parametrize("field", ["updateUser", "createIssue", "closeIssue"])
async def test_the_write_scope_alone_is_enough(gateway: Gateway, sandbox: Sandbox, field: str) -> None:
    query, scope = MUTATIONS[field]
    answer = await gateway.query(query, headers=await bearer(sandbox, scope))
    assert "errors" not in answer, answer
    assert answer["data"][field]


async def test_the_billing_write_scope_pays_an_invoice(gateway: Gateway, sandbox: Sandbox) -> None:
    invoices = '{ organization(id: "org-1") { billing { invoices(first: 1, status: "open") { id } } } }'
    invoice = (await gateway.query(invoices))["data"]["organization"]["billing"]["invoices"][0]["id"]
    pay = 'mutation ($id: ID!) { payInvoice(id: $id, idempotencyKey: "k-scope") { status } }'
    answer = await gateway.query(pay, {"id": invoice}, headers=await bearer(sandbox, "billing:write"))
    assert answer == {"data": {"payInvoice": {"status": "PAID"}}}


@pytest.mark.parametrize(
    "query",
    [
        'mutation { updateUser(id: "user-7", input: {name: "Eve", phone: "+1 555 0100"}, ifMatch: "*") { name } }',
        UPDATE_PHONE,
    ],
    ids=["inline", "variables"],
)
async def test_writing_a_phone_without_pii_write_is_forbidden_and_changes_nothing(
    gateway: Gateway, sandbox: Sandbox, query: str
) -> None:
    phone_before = await gateway.query(PHONE_OF_USER_7, headers=ADMIN_HEADERS)
    variables = {"input": {"name": "Eve", "phone": "+1 555 0100"}}
    headers = await bearer(sandbox, "users:write", "pii:read")

    error = await refused_without_upstream_requests(gateway, sandbox, query, headers, variables)

    assert error["extensions"] == {"code": "FORBIDDEN"}
    assert "pii:write" in error["message"]
    assert await gateway.query(PHONE_OF_USER_7, headers=ADMIN_HEADERS) == phone_before


async def test_pii_write_lets_the_phone_change_and_no_phone_needs_no_pii_scope(
    gateway: Gateway, sandbox: Sandbox
) -> None:
    writer = await bearer(sandbox, "users:write", "pii:write")
    changed = await gateway.query(UPDATE_PHONE, {"input": {"phone": "+1 555 0199"}}, headers=writer)
    assert "errors" not in changed
    assert (await gateway.query(PHONE_OF_USER_7, headers=ADMIN_HEADERS))["data"]["user"]["phone"] == "+1 555 0199"

    renamer = await bearer(sandbox, "users:write")
    for given in ({"name": "Eve"}, {"name": "Eve", "phone": None}):
        renamed = await gateway.query(UPDATE_PHONE, {"input": given}, headers=renamer)
        assert renamed == {"data": {"updateUser": {"name": "Eve"}}}, given


async def test_pii_in_lists_and_entities_is_refused_item_by_item(gateway: Gateway) -> None:
    members = await gateway.query('{ organization(id: "org-1") { members(first: 3) { nodes { name email } } } }')
    nodes = members["data"]["organization"]["members"]["nodes"]
    assert [node["email"] for node in nodes] == [None, None, None]
    assert all(node["name"] for node in nodes)
    assert [error["path"][-1] for error in members["errors"]] == ["email"] * 3
    assert {error["extensions"]["code"] for error in members["errors"]} == {"FORBIDDEN"}

    entities = await gateway.query(
        '{ _entities(representations: [{__typename: "User", id: "user-1"}]) { ... on User { phone } } }'
    )
    assert entities["data"]["_entities"] == [{"phone": None}]
    assert entities["errors"][0]["extensions"]["code"] == "FORBIDDEN"


def test_only_fields_with_a_rule_are_guarded_and_plain_fields_keep_their_plans() -> None:
    schema = build_schema()
    graphql_schema = schema._schema
    guarded = {
        f"{type_name}.{field_name}"
        for type_name, graphql_type in graphql_schema.type_map.items()
        if not type_name.startswith("__") and hasattr(graphql_type, "fields") and hasattr(graphql_type, "interfaces")
        for field_name, field_def in graphql_type.fields.items()
        if is_guarded(field_def)
    }
    mutations = {f"Mutation.{name}" for name in MUTATIONS}
    subscriptions = {"Subscription.invoiceEvents", "Subscription.issueEvents", "Subscription.ticketEvents"}
    assert guarded == mutations | subscriptions | {"User.email", "User.phone"}

    user = graphql_schema.type_map["User"]
    assert isinstance(plan_field(graphql_schema, user, "name"), LeafPlan)  # type: ignore[arg-type]
    assert plan_field(graphql_schema, user, "email") is None, "a guarded leaf always goes through its resolver"


@strawberry.federation.type(authenticated=True)
class Secret:
    value: str


@strawberry.type
class SecretQuery:
    secret: Secret | None = None


def test_a_rule_on_a_type_stops_the_build_instead_of_going_unenforced() -> None:
    with pytest.raises(TypeError, match="Secret: declare @authenticated/@requiresScopes on its fields"):
        guard_schema(strawberry.federation.Schema(query=SecretQuery))
