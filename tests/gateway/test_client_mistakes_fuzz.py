"""Generated documents over the real schema, valid and broken, with variables of any JSON shape:
whatever a client sends, the answer is never a 5xx and never an internal error."""

from __future__ import annotations

from typing import Any

import orjson
from graphql import DocumentNode, print_ast
from harness import ADMIN_HEADERS, Gateway
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st
from hypothesis_graphql import queries

from schema.root import build_schema

SCHEMA = build_schema()._schema
ROOTS = ["organization", "user", "users", "project", "viewer", "_entities"]
JSON = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**40), max_value=2**40) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=8,
)
VARIABLES_DOCUMENT = """query Fuzz($id: ID!, $ids: [ID!]!, $first: Int, $reps: [_Any!]!) {
  user(id: $id) { id name }
  users(ids: $ids) { id }
  organization(id: $id) { members(first: $first) { totalCount } }
  _entities(representations: $reps) { __typename }
}"""


@st.composite
def requests(draw: st.DrawFn) -> dict[str, Any]:
    generated: DocumentNode = draw(
        queries(SCHEMA, fields=ROOTS, custom_scalars={"_Any": st.just(None)}, print_ast=lambda node: node)
    )
    text = print_ast(generated)
    kind = draw(st.sampled_from(["valid", "truncated", "mangled", "variables", "operation-name"]))
    body: dict[str, Any] = {"query": text}
    if kind == "truncated":
        body["query"] = text[: draw(st.integers(min_value=0, max_value=len(text)))]
    elif kind == "mangled":
        position = draw(st.integers(min_value=0, max_value=len(text)))
        body["query"] = text[:position] + draw(st.text(max_size=5)) + text[position:]
    elif kind == "variables":
        body = {
            "query": VARIABLES_DOCUMENT,
            "variables": draw(
                st.fixed_dictionaries({}, optional={"id": JSON, "ids": JSON, "first": JSON, "reps": JSON})
            ),
        }
    elif kind == "operation-name":
        body["operationName"] = draw(st.text(max_size=10))
    return body


@seed(12)
@settings(max_examples=50, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(body=requests())
async def test_no_client_mistake_is_a_5xx_or_an_internal_error(gateway: Gateway, body: dict[str, Any]) -> None:
    async with gateway.http.post(
        f"{gateway.url}/graphql",
        data=orjson.dumps(body),
        headers={**ADMIN_HEADERS, "Content-Type": "application/json", "Accept": "application/graphql-response+json"},
    ) as response:
        status, payload = response.status, orjson.loads(await response.read())
    assert status < 500, payload
    codes = {(error.get("extensions") or {}).get("code") for error in payload.get("errors", [])}
    assert "INTERNAL_SERVER_ERROR" not in codes, payload
