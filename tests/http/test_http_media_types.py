"""Response media types negotiated from ``Accept`` (q-values, wildcards, absent, case, parameters),
first as the negotiator decides, then as the gateway answers."""

from __future__ import annotations

import pytest
from http_support import GRAPHQL_RESPONSE, JSON, Endpoint

from mobius.media import HTML, MAX_HEADER_CHARS, Negotiator, parse_media_type

OFFERED = (GRAPHQL_RESPONSE, JSON)


@pytest.mark.parametrize(
    ("accept", "chosen"),
    [
        (None, JSON),
        ("", JSON),
        ("application/graphql-response+json", GRAPHQL_RESPONSE),
        ("application/json", JSON),
        ("application/graphql-response+json, application/json;q=0.9", GRAPHQL_RESPONSE),
        ("application/json, application/graphql-response+json;q=0.9", JSON),
        ("application/json;q=0.5, application/graphql-response+json;q=0.6", GRAPHQL_RESPONSE),
        ("application/json, application/graphql-response+json", GRAPHQL_RESPONSE),
        ("*/*", JSON),
        ("application/*", JSON),
        ("application/*;q=0.2, application/graphql-response+json", GRAPHQL_RESPONSE),
        ("application/graphql-response+json;q=0.1, */*", JSON),
        ("APPLICATION/GRAPHQL-RESPONSE+JSON", GRAPHQL_RESPONSE),
        ("Application/Json; charset=utf-8", JSON),
        ("application/graphql-response+json; charset=utf-8; q=1", GRAPHQL_RESPONSE),
        ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", JSON),
        ("application/json;q=0, */*", GRAPHQL_RESPONSE),
        ("application/json;q=oops, application/graphql-response+json", GRAPHQL_RESPONSE),
        ("garbage", JSON),
        ("text/plain", None),
        ("application/xml, text/*", None),
        ("application/json;q=0", None),
        ("*/*;q=0", None),
    ],
)
def test_the_negotiator_picks_what_the_client_prefers(accept: str | None, chosen: str | None) -> None:
    assert Negotiator().choose(accept, OFFERED) == chosen


def test_a_browser_navigation_prefers_the_page_when_it_is_offered() -> None:
    browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    assert Negotiator().choose(browser, (HTML, *OFFERED)) == HTML
    assert Negotiator().choose("*/*", (HTML, *OFFERED)) == JSON


def test_only_the_start_of_a_long_accept_header_is_read() -> None:
    """Client text is capped before it is read: whatever follows the first characters is ignored."""
    padding = ", text/plain" * ((MAX_HEADER_CHARS // 12) + 1)
    assert Negotiator().choose(padding[2:] + ", application/json", OFFERED) is None
    assert Negotiator().choose("application/json" + padding * 1000, OFFERED) == JSON
    hostile = ";q=" * 300_000 + "," * 300_000
    assert Negotiator().choose(hostile, OFFERED) == JSON  # no readable range: taken as absent


def test_verdicts_are_remembered_for_a_bounded_number_of_values() -> None:
    negotiator = Negotiator()
    for index in range(2_000):
        negotiator.choose(f"application/json;x={index}", OFFERED)
    assert len(negotiator._verdicts) <= 256


@pytest.mark.parametrize(
    ("value", "essence", "charset"),
    [
        ("application/json", "application/json", None),
        ('Application/JSON; Charset="UTF-8"', "application/json", "utf-8"),
        (" text/plain ;charset=latin-1;format=flowed", "text/plain", "latin-1"),
        ("multipart/form-data; boundary=abc", "multipart/form-data", None),
    ],
)
def test_content_types_are_read_case_insensitively_with_their_charset(
    value: str, essence: str, charset: str | None
) -> None:
    parsed = parse_media_type(value)
    assert (parsed.essence, parsed.charset) == (essence, charset)


@pytest.mark.parametrize(
    ("accept", "content_type"),
    [
        (None, "application/json; charset=utf-8"),
        ("*/*", "application/json; charset=utf-8"),
        ("application/json", "application/json; charset=utf-8"),
        ("application/graphql-response+json", "application/graphql-response+json; charset=utf-8"),
        (
            "application/graphql-response+json, application/json;q=0.9",
            "application/graphql-response+json; charset=utf-8",
        ),
        ("Application/Graphql-Response+Json", "application/graphql-response+json; charset=utf-8"),
    ],
)
async def test_the_gateway_answers_in_the_negotiated_media_type(
    endpoint: Endpoint, accept: str | None, content_type: str
) -> None:
    over_post = await endpoint.post({"query": "{ __typename }"}, accept=accept)
    over_get = await endpoint.get({"query": "{ __typename }"}, accept=accept)

    for reply in (over_post, over_get):
        assert (reply.status, reply.headers["content-type"]) == (200, content_type)
        assert reply.json == {"data": {"__typename": "Query"}}


async def test_utf8_documents_and_answers_round_trip(endpoint: Endpoint) -> None:
    reply = await endpoint.post({"query": '{ __type(name: "Run🏃Swim🏊") { name } }'})

    assert (reply.status, reply.json) == (200, {"data": {"__type": None}})
    reply.body.decode("utf-8")
