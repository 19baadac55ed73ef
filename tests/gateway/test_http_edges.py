"""Bad input gets a clear error and never a 500 with a trace."""

from __future__ import annotations

import aiohttp
import orjson
import pytest
from harness import ADMIN_HEADERS, Gateway, Sandbox

from clients.registry import registry


async def post_raw(gateway: Gateway, body: bytes, content_type: str = "application/json") -> tuple[int, str]:
    async with gateway.http.post(
        f"{gateway.url}/graphql", data=body, headers={"Content-Type": content_type}
    ) as response:
        return response.status, await response.text()


@pytest.mark.parametrize(
    "body",
    [b"{not json", b"", b"[1, 2", b'{"query": 42}', b'"just a string"', b"\xff\xfe"],
    ids=["broken-json", "empty", "truncated", "query-not-string", "not-an-object", "not-utf8"],
)
async def test_non_json_or_shapeless_bodies_get_a_coded_400(gateway: Gateway, body: bytes) -> None:
    status, text = await post_raw(gateway, body)
    assert status == 400
    payload = orjson.loads(text)
    assert "data" not in payload
    assert payload["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


async def test_a_batch_is_refused_as_batching_is_not_enabled(gateway: Gateway) -> None:
    status, text = await post_raw(gateway, b'[{"query": "{ __typename }"}, {"query": "{ __typename }"}]')
    assert status == 400
    assert orjson.loads(text)["errors"][0]["extensions"]["code"] == "BATCHING_NOT_ENABLED"


async def test_a_query_over_get_is_answered_as_over_post(gateway: Gateway) -> None:
    """Both go through the one admission step and executor entry; a GET parameter GraphQL over
    HTTP does not define is ignored."""
    query = '{ organization(id: "org-1") { name members(first: 1000) { totalCount } } }'
    async with gateway.http.post(f"{gateway.url}/graphql", json={"query": query}) as response:
        posted = (response.status, await response.read(), response.headers["Content-Type"])
    async with gateway.http.get(f"{gateway.url}/graphql", params={"query": query}) as response:
        over_get = (response.status, await response.read(), response.headers["Content-Type"])
    async with gateway.http.get(f"{gateway.url}/graphql", params={"query": query, "x": "1"}) as response:
        with_unknown = (response.status, await response.read(), response.headers["Content-Type"])

    assert posted == over_get == with_unknown
    assert orjson.loads(posted[1])["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_syntax_error_is_a_located_graphql_error(gateway: Gateway) -> None:
    status, text = await post_raw(gateway, b'{"query": "{ organization(id: \\"org-1\\") { name "}')
    payload = orjson.loads(text)
    assert status == 200  # a request error under application/json (a legacy client's media type)
    assert "data" not in payload
    assert payload["errors"][0]["message"].startswith("Syntax Error")
    assert payload["errors"][0]["locations"]
    assert payload["errors"][0]["extensions"]["code"] == "GRAPHQL_PARSE_FAILED"


async def test_unknown_field_is_a_validation_error(gateway: Gateway) -> None:
    result = await gateway.http.post(f"{gateway.url}/graphql", json={"query": '{ organization(id: "org-1") { nope } }'})
    payload = await result.json()
    assert result.status == 200
    assert payload["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert "nope" in payload["errors"][0]["message"]


async def test_bad_variables_are_rejected_before_any_upstream_call(gateway: Gateway, sandbox: Sandbox) -> None:
    query = "query ($id: ID!) { organization(id: $id) { name } }"
    async with gateway.http.post(f"{gateway.url}/graphql", json={"query": query, "variables": {"id": {"x": 1}}}) as r:
        payload = await r.json()
    assert "errors" in payload
    assert sum((await sandbox.api_requests()).values()) == 0


async def test_page_size_out_of_range_is_a_bad_user_input(gateway: Gateway) -> None:
    result = await gateway.query('{ organization(id: "org-1") { members(first: 1000) { totalCount } } }')
    assert result["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_too_deep_query_is_refused(gateway: Gateway) -> None:
    nested = "organization { " * 12 + "id" + " }" * 12
    result = await gateway.query(f'{{ user(id: "user-1") {{ {nested} }} }}')
    assert "errors" in result
    assert "depth" in result["errors"][0]["message"].lower()


async def test_oversized_body_gets_413(gateway: Gateway) -> None:
    status, text = await post_raw(gateway, b'{"query": "' + b" " * 2_000_000 + b'{ __typename }"}')
    assert status == 413
    assert orjson.loads(text)["errors"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE"


async def test_unknown_bearer_token_gets_401(gateway: Gateway) -> None:
    async with gateway.http.post(
        f"{gateway.url}/graphql", json={"query": "{ __typename }"}, headers={"Authorization": "Bearer nope"}
    ) as response:
        assert response.status == 401
        assert response.headers["WWW-Authenticate"].startswith("Bearer ")
        assert (await response.json())["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_pii_needs_a_scope(gateway: Gateway) -> None:
    query = '{ user(id: "user-1") { name email phone } }'

    anonymous = await gateway.query(query)
    assert anonymous["data"]["user"]["name"]
    assert anonymous["data"]["user"]["email"] is None
    assert {e["extensions"]["code"] for e in anonymous["errors"]} == {"FORBIDDEN"}

    admin = await gateway.query(query, headers=ADMIN_HEADERS)
    assert "errors" not in admin
    assert "@" in admin["data"]["user"]["email"]


async def test_viewer_is_the_callers_user(gateway: Gateway) -> None:
    assert (await gateway.query("{ viewer { id } }"))["data"]["viewer"] is None
    assert (await gateway.query("{ viewer { id } }", headers=ADMIN_HEADERS))["data"]["viewer"] == {"id": "user-1"}


async def test_users_keeps_order_and_nulls_unknown_ids(gateway: Gateway) -> None:
    result = await gateway.query('{ users(ids: ["user-3", "user-999999", "user-1"]) { id } }')
    assert result["data"]["users"] == [{"id": "user-3"}, None, {"id": "user-1"}]


async def test_get_queries_work_and_get_mutations_do_not_exist(gateway: Gateway) -> None:
    async with gateway.http.get(f"{gateway.url}/graphql", params={"query": "{ upstreams { name } }"}) as response:
        assert response.status == 200
        names = [u["name"] for u in (await response.json())["data"]["upstreams"]]
    assert names == [upstream.name for upstream in registry().upstreams], "every declared upstream, by name"


async def test_health_endpoints(gateway: Gateway) -> None:
    async with gateway.http.get(f"{gateway.url}/health/live") as live:
        assert live.status == 200
    async with gateway.http.get(f"{gateway.url}/health/ready") as ready:
        assert ready.status == 200
        assert (await ready.json())["status"] == "ready"


async def test_graphiql_page_is_served_without_a_cdn(gateway: Gateway) -> None:
    async with gateway.http.get(f"{gateway.url}/graphql", headers={"Accept": "text/html"}) as response:
        assert response.status == 200
        html = await response.text()
        assert "Content-Security-Policy" in response.headers
    assert "https://" not in html.replace("https://specs.apollo.dev", "")
    assert "/graphiql/static/" in html


async def test_federation_service_sdl_is_exposed(gateway: Gateway) -> None:
    result = await gateway.query("{ _service { sdl } }")
    assert '@key(fields: "id")' in result["data"]["_service"]["sdl"]


async def test_entities_resolve_through_the_loaders(gateway: Gateway) -> None:
    query = """query ($r: [_Any!]!) { _entities(representations: $r) {
        ... on User { id name } ... on Project { id name } ... on Organization { id name } } }"""
    representations = [
        {"__typename": "User", "id": "user-1"},
        {"__typename": "Project", "id": "proj-1"},
        {"__typename": "Organization", "id": "org-1"},
    ]
    result = await gateway.query(query, {"r": representations})
    assert [entity["id"] for entity in result["data"]["_entities"]] == ["user-1", "proj-1", "org-1"]


async def test_client_disconnect_does_not_break_the_gateway(gateway: Gateway, sandbox: Sandbox) -> None:
    await sandbox.faults("identity", latency_ms=300)
    timeout = aiohttp.ClientTimeout(total=0.05)
    with pytest.raises(TimeoutError):
        await gateway.http.post(
            f"{gateway.url}/graphql", json={"query": '{ user(id: "user-1") { id } }'}, timeout=timeout
        )
    await sandbox.faults("identity")
    assert (await gateway.query('{ user(id: "user-2") { id } }'))["data"]["user"] == {"id": "user-2"}
