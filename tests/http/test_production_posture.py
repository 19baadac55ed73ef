"""``environment: production``: no introspection, no "Did you mean ...?", no GraphiQL and the CSRF
rule on, unless each is enabled explicitly; development keeps them all."""

from __future__ import annotations

from collections.abc import Iterator

import aiohttp
import pytest
from config_support import offline_upstreams
from harness import GatewayServer
from http_support import GRAPHQL_RESPONSE, JSON, Endpoint, SandboxServerInfo, serving, settings_for

from mobius.settings import Posture, load_settings

INTROSPECTION = "{ __schema { queryType { name } } }"
TYPE_LOOKUP = '{ __type(name: "User") { name } }'
MISSPELT = '{ organizaton(id: "org-1") { id } }'
BAD_ENUM = 'query ($s: IssueState) { project(id: "proj-1") { issues(first: 1, state: $s) { totalCount } } }'
BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
PREFLIGHTED = {"Apollo-Require-Preflight": "true"}


@pytest.fixture(scope="module")
def production(sandbox_server: SandboxServerInfo) -> Iterator[GatewayServer]:
    with serving(settings_for(sandbox_server, environment="production", auth={})) as server:
        yield server


@pytest.fixture(scope="module")
def production_opened_up(sandbox_server: SandboxServerInfo) -> Iterator[GatewayServer]:
    settings = settings_for(
        sandbox_server,
        environment="production",
        auth={},
        server={"graphiql": True},
        graphql={"introspection": True, "suggestions": True},
        http={"csrf_prevention": False},
    )
    with serving(settings) as server:
        yield server


def test_the_posture_follows_the_environment_unless_set() -> None:
    development = Posture(graphiql=True, introspection=True, suggestions=True, csrf_prevention=False)
    production = Posture(graphiql=False, introspection=False, suggestions=False, csrf_prevention=True)
    upstreams = offline_upstreams()

    assert Posture.of(load_settings(upstreams=upstreams)) == development
    assert Posture.of(load_settings(upstreams=upstreams, environment="production")) == production
    explicit = load_settings(upstreams=upstreams, environment="production", graphql={"introspection": True})
    assert Posture.of(explicit).introspection is True
    assert Posture.of(load_settings(upstreams=upstreams, http={"csrf_prevention": True})).csrf_prevention is True


@pytest.mark.parametrize(
    "query", [INTROSPECTION, TYPE_LOOKUP, "query Q { ...F } fragment F on Query { __schema { description } }"]
)
async def test_production_refuses_introspection(
    production: GatewayServer, http: aiohttp.ClientSession, query: str
) -> None:
    reply = await Endpoint(production.url, http).post({"query": query}, accept=GRAPHQL_RESPONSE)

    assert reply.status == 400
    assert set(reply.codes) == {"GRAPHQL_VALIDATION_FAILED"}
    assert "introspection has been disabled" in reply.json["errors"][0]["message"]


async def test_production_still_answers_typename_and_the_federation_sdl(
    production: GatewayServer, http: aiohttp.ClientSession
) -> None:
    """A router composing this subgraph reads ``_service.sdl``; it stays (docs/http.md)."""
    endpoint = Endpoint(production.url, http)

    assert (await endpoint.post({"query": "{ __typename }"})).json == {"data": {"__typename": "Query"}}
    assert "type User" in (await endpoint.post({"query": "{ _service { sdl } }"})).json["data"]["_service"]["sdl"]


async def test_production_leaves_suggestions_out_of_errors(
    production: GatewayServer, gateway_server: GatewayServer, http: aiohttp.ClientSession
) -> None:
    quiet = Endpoint(production.url, http)
    chatty = Endpoint(gateway_server.url, http)

    for query, variables in ((MISSPELT, None), (BAD_ENUM, {"s": "OPNE"})):
        payload = {"query": query, "variables": variables}
        in_production = (await quiet.post(payload)).json["errors"][0]["message"]
        in_development = (await chatty.post(payload)).json["errors"][0]["message"]
        assert "Did you mean" not in in_production
        assert "Did you mean" in in_development


async def test_production_serves_no_graphiql(production: GatewayServer, http: aiohttp.ClientSession) -> None:
    endpoint = Endpoint(production.url, http)

    page = await endpoint.get({}, accept=BROWSER, headers=PREFLIGHTED)
    assert (page.status, page.media_type) == (400, JSON)
    assert (await endpoint.get({}, accept="text/html", headers=PREFLIGHTED)).status == 406
    assert (await endpoint.request("GET", path="/graphiql/static/mobius-graphiql.js")).status == 404


async def test_production_refuses_requests_a_browser_sends_without_a_preflight(
    production: GatewayServer, http: aiohttp.ClientSession
) -> None:
    endpoint = Endpoint(production.url, http)
    query = {"query": "{ __typename }"}

    refused = [
        await endpoint.get(query),
        await endpoint.request("POST", body=b'{"query": "{ __typename }"}', headers={"Content-Type": "text/plain"}),
        await endpoint.request(
            "POST", body=b"query=%7B__typename%7D", headers={"Content-Type": "application/x-www-form-urlencoded"}
        ),
    ]
    assert [(reply.status, reply.codes) for reply in refused] == [(400, ["CSRF_PREFLIGHT_REQUIRED"])] * 3

    allowed = [
        await endpoint.get(query, headers=PREFLIGHTED),
        await endpoint.get(query, headers={"X-Mobius-CSRF": "1"}),
        await endpoint.get(query, headers={"Content-Type": JSON}),
        await endpoint.post(query),
    ]
    assert [reply.json for reply in allowed] == [{"data": {"__typename": "Query"}}] * 4


async def test_an_empty_preflight_header_does_not_count(production: GatewayServer, http: aiohttp.ClientSession) -> None:
    reply = await Endpoint(production.url, http).get(
        {"query": "{ __typename }"}, headers={"Apollo-Require-Preflight": ""}
    )

    assert reply.codes == ["CSRF_PREFLIGHT_REQUIRED"]


async def test_each_production_default_can_be_enabled_explicitly(
    production_opened_up: GatewayServer, http: aiohttp.ClientSession
) -> None:
    endpoint = Endpoint(production_opened_up.url, http)

    assert (await endpoint.post({"query": INTROSPECTION})).json == {
        "data": {"__schema": {"queryType": {"name": "Query"}}}
    }
    assert "Did you mean" in (await endpoint.post({"query": MISSPELT})).json["errors"][0]["message"]
    assert (await endpoint.get({"query": "{ __typename }"})).status == 200
    page = await endpoint.get({}, accept=BROWSER)
    assert (page.status, page.media_type) == (200, "text/html")
    assert page.headers["content-security-policy"].startswith("default-src 'self'")


async def test_development_serves_graphiql_to_a_browser(endpoint: Endpoint) -> None:
    page = await endpoint.get({}, accept=BROWSER)

    assert (page.status, page.media_type) == (200, "text/html")
    assert b'data-graphql-path="/graphql"' in page.body
    assert (await endpoint.request("GET", path="/graphiql/static/mobius-graphiql.js")).status == 200
