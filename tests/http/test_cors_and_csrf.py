"""Browsers: CORS from ``http.cors`` (preflights answered, responses readable by allowed origins
only) and the CSRF rule (``http.csrf_prevention``), against the real gateway."""

from __future__ import annotations

from collections.abc import Iterator

import aiohttp
import pytest
from harness import GatewayServer
from http_support import JSON, Endpoint, SandboxServerInfo, serving, settings_for

from mobius.settings import CorsSettings

APP = "https://app.example.com"
EVIL = "https://evil.example.net"


@pytest.fixture(scope="module")
def browser_facing(sandbox_server: SandboxServerInfo) -> Iterator[GatewayServer]:
    settings = settings_for(
        sandbox_server,
        http={
            "csrf_prevention": True,
            "cors": {"allow_origins": [APP], "allow_credentials": True, "max_age_s": 300},
        },
    )
    with serving(settings) as server:
        yield server


@pytest.fixture
def site(browser_facing: GatewayServer, http: aiohttp.ClientSession) -> Endpoint:
    return Endpoint(browser_facing.url, http)


def preflight(origin: str, method: str = "POST", headers: str = "content-type") -> dict[str, str]:
    return {"Origin": origin, "Access-Control-Request-Method": method, "Access-Control-Request-Headers": headers}


async def test_a_preflight_from_an_allowed_origin_is_granted(site: Endpoint) -> None:
    reply = await site.request(
        "OPTIONS", headers=preflight(APP, headers="content-type, authorization, mobius-deadline-ms")
    )

    assert reply.status == 204
    assert reply.headers["access-control-allow-origin"] == APP
    assert reply.headers["access-control-allow-credentials"] == "true"
    assert reply.headers["access-control-allow-methods"] == "GET, POST"
    assert "Apollo-Require-Preflight" in reply.headers["access-control-allow-headers"]
    assert reply.headers["access-control-max-age"] == "300"
    assert reply.headers["vary"] == "Origin"


@pytest.mark.parametrize(
    ("headers", "problem"),
    [
        (preflight(EVIL), "origin"),
        (preflight(APP, method="DELETE"), "method"),
        (preflight(APP, headers="content-type, x-sneaky"), "header"),
    ],
)
async def test_a_preflight_that_is_not_allowed_is_403(site: Endpoint, headers: dict[str, str], problem: str) -> None:
    reply = await site.request("OPTIONS", headers=headers)

    assert reply.status == 403
    assert "access-control-allow-origin" not in reply.headers
    assert reply.codes == ["CORS_PREFLIGHT_REFUSED"]
    assert problem in reply.json["errors"][0]["message"]


async def test_only_allowed_origins_may_read_answers(site: Endpoint) -> None:
    allowed = await site.post({"query": "{ __typename }"}, headers={"Origin": APP})
    other = await site.post({"query": "{ __typename }"}, headers={"Origin": EVIL})
    refused = await site.request("PUT", headers={"Origin": APP})

    assert allowed.headers["access-control-allow-origin"] == APP
    assert allowed.headers["access-control-expose-headers"] == "Mobius-Cache"
    assert "access-control-allow-origin" not in other.headers
    assert other.headers["vary"] == "Origin"
    assert refused.headers["access-control-allow-origin"] == APP


async def test_an_options_request_that_is_no_preflight_is_told_the_methods(endpoint: Endpoint) -> None:
    reply = await endpoint.request("OPTIONS", headers=preflight(APP))

    assert (reply.status, reply.headers["allow"]) == (204, "GET, POST, OPTIONS")
    assert "access-control-allow-origin" not in reply.headers


@pytest.mark.parametrize(
    ("method", "content_type", "body"),
    [
        ("GET", None, None),
        ("POST", "text/plain", b'{"query": "{ __typename }"}'),
        ("POST", "text/plain; charset=utf-8", b'{"query": "{ __typename }"}'),
        ("POST", "multipart/form-data; boundary=x", b"--x--"),
        ("POST", "application/x-www-form-urlencoded", b"query=%7B__typename%7D"),
    ],
)
async def test_requests_a_page_can_send_cross_site_without_a_preflight_are_refused(
    site: Endpoint, method: str, content_type: str | None, body: bytes | None
) -> None:
    headers = {"Origin": EVIL} if content_type is None else {"Origin": EVIL, "Content-Type": content_type}

    reply = await site.request(method, body=body, headers=headers, params={"query": "{ __typename }"})

    assert (reply.status, reply.codes) == (400, ["CSRF_PREFLIGHT_REQUIRED"])


@pytest.mark.parametrize(
    "headers",
    [
        {"Apollo-Require-Preflight": "true"},
        {"X-Apollo-Operation-Name": "Q"},
        {"GraphQL-Require-Preflight": "1"},
        {"X-Mobius-CSRF": "1"},
        {"Content-Type": JSON},
    ],
)
async def test_a_get_with_a_preflight_header_or_content_type_runs(site: Endpoint, headers: dict[str, str]) -> None:
    reply = await site.get({"query": "{ __typename }"}, headers=headers)

    assert reply.json == {"data": {"__typename": "Query"}}


async def test_the_csrf_rule_is_off_in_development_unless_configured(endpoint: Endpoint) -> None:
    assert (await endpoint.get({"query": "{ __typename }"})).status == 200
    plain = await endpoint.request("POST", body=b'{"query": "{ __typename }"}', headers={"Content-Type": "text/plain"})
    assert plain.status == 415, "a simple content type is never run as JSON, whatever the CSRF rule"


def test_credentials_need_explicit_origins() -> None:
    with pytest.raises(ValueError, match="explicit origins"):
        CorsSettings(allow_origins=["*"], allow_credentials=True)
