"""Federation ``_entities``: malformed representations are the client's mistake (a coded request
error, no upstream request), the count and key length are capped, well-formed ones resolve; the
same over a WebSocket (graphql-transport-ws) as over HTTP."""

from __future__ import annotations

from typing import Any

import pytest
from gql import Client, GraphQLRequest
from gql.transport.exceptions import TransportQueryError
from gql.transport.websockets import WebsocketsTransport
from harness import Gateway, Sandbox

QUERY = "query Entities($reps: [_Any!]!) { _entities(representations: $reps) { ... on User { id name } } }"


async def entities(gateway: Gateway, representations: Any) -> tuple[int, dict[str, Any]]:
    async with gateway.http.post(
        f"{gateway.url}/graphql",
        json={"query": QUERY, "variables": {"reps": representations}},
        headers={"Accept": "application/graphql-response+json"},
    ) as response:
        return response.status, await response.json(content_type=None)


@pytest.mark.parametrize(
    "representations",
    [
        ["user-1"],
        [{"id": "user-1"}],
        [{"__typename": "Nope", "id": "user-1"}],
        [{"__typename": 42, "id": "user-1"}],
        [{"__typename": "User"}],
        [{"__typename": "User", "id": "user-1", "extra": 1}],
        [{"__typename": "User", "id": {"nested": True}}],
        [{"__typename": "User", "id": "k" * 257}],
        [{"__typename": "User", "id": f"user-{i}"} for i in range(101)],
    ],
    ids=[
        "not-an-object",
        "no-typename",
        "unknown-type",
        "typename-not-a-string",
        "missing-key",
        "unknown-field",
        "key-not-a-scalar",
        "key-too-long",
        "too-many",
    ],
)
async def test_malformed_representations_are_bad_user_input_before_any_upstream_request(
    gateway: Gateway, sandbox: Sandbox, representations: Any
) -> None:
    before = await sandbox.api_requests()
    status, payload = await entities(gateway, representations)
    assert status == 400
    assert "data" not in payload
    assert payload["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert await sandbox.api_requests() == before


async def test_a_fifty_kilobyte_key_is_answered_with_an_error(gateway: Gateway) -> None:
    status, payload = await entities(gateway, [{"__typename": "User", "id": "k" * 50_000}])
    assert status == 400
    assert "longer than 256" in payload["errors"][0]["message"]


async def test_a_literal_representation_is_checked_like_a_variable(gateway: Gateway) -> None:
    async with gateway.http.post(
        f"{gateway.url}/graphql",
        json={"query": '{ _entities(representations: [{__typename: "Nope"}]) { __typename } }'},
        headers={"Accept": "application/graphql-response+json"},
    ) as response:
        assert response.status == 400
        payload = await response.json(content_type=None)
    assert payload["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_well_formed_representations_resolve(gateway: Gateway) -> None:
    status, payload = await entities(gateway, [{"__typename": "User", "id": "user-1"}])
    assert status == 200
    assert payload["data"]["_entities"][0]["id"] == "user-1"


async def entities_over_websocket(gateway: Gateway, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    transport = WebsocketsTransport(
        url=gateway.url.replace("http://", "ws://") + "/graphql",
        subprotocols=[WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL],  # graphql-transport-ws runs queries too
    )
    async with Client(transport=transport) as session:
        result: dict[str, Any] = await session.execute(GraphQLRequest(query, variable_values=variables))
        return result


@pytest.mark.parametrize(
    ("query", "variables"),
    [
        (QUERY, {"reps": [{"__typename": "User", "id": f"user-{i}"} for i in range(101)]}),
        (QUERY, {"reps": [{"__typename": "User", "id": "k" * 257}]}),
        (QUERY, {"reps": [{"__typename": "User", "id": "user-1", "extra": 1}]}),
        ('{ _entities(representations: [{__typename: "Nope", id: "user-1"}]) { __typename } }', {}),
    ],
    ids=["too-many", "key-too-long", "unknown-field", "literal-unknown-type"],
)
async def test_over_a_websocket_malformed_representations_are_bad_user_input_before_any_upstream_request(
    gateway: Gateway, sandbox: Sandbox, query: str, variables: dict[str, Any]
) -> None:
    before = await sandbox.api_requests()
    with pytest.raises(TransportQueryError) as refused:
        await entities_over_websocket(gateway, query, variables)
    assert refused.value.errors is not None
    assert refused.value.errors[0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert refused.value.data is None
    assert await sandbox.api_requests() == before


async def test_over_a_websocket_well_formed_representations_resolve(gateway: Gateway) -> None:
    result = await entities_over_websocket(gateway, QUERY, {"reps": [{"__typename": "User", "id": "user-1"}]})
    assert result["_entities"][0]["id"] == "user-1"
