"""Queries over `GET /graphql?query=...`: answered like POSTs, response cache included."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from harness import DASHBOARD_QUERY, Sandbox
from response_cache_support import Answer, Client


async def get(client: Client, params: dict[str, str], headers: dict[str, str] | None = None) -> Answer:
    async with client.http.get(f"{client.url}/graphql", params=params, headers=headers) as response:
        body = await response.read()
        return Answer(response.status, body, response.headers.get("Mobius-Cache"), dict(response.headers))


def dashboard_params(org_id: str = "org-1") -> dict[str, str]:
    return {"query": DASHBOARD_QUERY, "variables": orjson.dumps({"orgId": org_id}).decode()}


async def test_a_get_query_is_stored_and_then_served_from_the_response_cache(client: Client, sandbox: Sandbox) -> None:
    before = await sandbox.api_requests()
    first = await get(client, dashboard_params())
    between = await sandbox.api_requests()
    second = await get(client, dashboard_params())
    after = await sandbox.api_requests()

    assert (first.status, first.cache, second.cache) == (200, "MISS", "HIT")
    assert second.body == first.body
    assert first.json["data"]["organization"]["id"] == "org-1"
    assert sum(between.values()) > sum(before.values())
    assert after == between, "the hit asked no upstream"


async def test_get_and_post_of_one_query_share_a_stored_answer(client: Client) -> None:
    posted = await client.dashboard("org-2")
    over_get = await get(client, dashboard_params("org-2"))

    assert (posted.cache, over_get.cache) == ("MISS", "HIT")
    assert over_get.body == posted.body


async def test_a_mutation_over_get_is_refused_before_it_runs(client: Client, sandbox: Sandbox) -> None:
    mutation = 'mutation { payInvoice(id: "in_1", idempotencyKey: "k-get") { id } }'
    before = await sandbox.api_requests()

    answers = [await get(client, {"query": mutation}) for _ in range(2)]

    assert [answer.status for answer in answers] == [405, 405]
    assert all(answer.headers["Allow"] == "POST" for answer in answers)
    assert all(answer.json["errors"][0]["extensions"]["code"] == "METHOD_NOT_ALLOWED" for answer in answers)
    assert all("data" not in answer.json for answer in answers)
    assert all(answer.cache is None for answer in answers)
    assert await sandbox.api_requests() == before


@pytest.mark.parametrize(
    "params",
    [
        {"query": "{ __typename }", "variables": "{not json"},
        {"query": "{ __typename }", "variables": "[1, 2]"},
        {"query": ""},
    ],
)
async def test_a_malformed_get_is_a_coded_400(client: Client, params: dict[str, Any]) -> None:
    answer = await get(client, params)

    assert answer.status == 400
    assert answer.cache is None
    assert answer.json["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


async def test_a_get_without_a_query_still_opens_graphiql_in_a_browser(client: Client) -> None:
    answer = await get(client, {}, headers={"Accept": "text/html"})

    assert answer.status == 200
    assert answer.headers["Content-Type"].startswith("text/html")
