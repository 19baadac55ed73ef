"""GraphQL over HTTP's status codes and bodies, under both response media types, against the real
gateway: request errors have no ``data`` and a code (400 under graphql-response+json, 200 under
application/json), field errors are 200 with ``data``, refusals of the HTTP request keep their own
status, and nothing reaches an upstream or the log as a traceback."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import aiohttp
import orjson
import pytest
import structlog
from harness import GatewayServer, Sandbox
from http_support import BOTH, GRAPHQL_RESPONSE, JSON, Endpoint, SandboxServerInfo, serving, settings_for

USER_QUERY = "query ($id: ID!) { user(id: $id) { id name } }"

REQUEST_ERRORS = [
    pytest.param({"query": "{"}, "GRAPHQL_PARSE_FAILED", id="parse"),
    pytest.param({"query": "{ user(id: 1) { nope } }"}, "GRAPHQL_VALIDATION_FAILED", id="validation"),
    pytest.param({"query": USER_QUERY, "variables": {"id": {"x": 1}}}, "BAD_USER_INPUT", id="variable-wrong-type"),
    pytest.param({"query": USER_QUERY, "variables": {}}, "BAD_USER_INPUT", id="variable-missing"),
    pytest.param({"query": USER_QUERY, "variables": {"id": None}}, "BAD_USER_INPUT", id="variable-null-for-non-null"),
    pytest.param(
        {
            "query": 'query ($n: Int) { organization(id: "org-1") { members(first: $n) { totalCount } } }',
            "variables": {"n": 2**40},
        },
        "BAD_USER_INPUT",
        id="variable-out-of-range",
    ),
    pytest.param(
        {"query": "query A { __typename } query B { __typename }", "operationName": "C"},
        "OPERATION_RESOLUTION_FAILURE",
        id="unknown-operation-name",
    ),
    pytest.param(
        {"query": 'query A { user(id: "user-1") { id } } query B { user(id: "user-2") { id } }'},
        "OPERATION_RESOLUTION_FAILURE",
        id="several-operations-without-a-name",
    ),
    pytest.param({"query": "fragment F on Query { __typename }"}, "GRAPHQL_VALIDATION_FAILED", id="no-operation"),
]


@pytest.mark.parametrize("accept", BOTH)
@pytest.mark.parametrize(("payload", "code"), REQUEST_ERRORS)
async def test_a_request_error_has_no_data_a_code_and_the_status_of_its_media_type(
    endpoint: Endpoint, sandbox: Sandbox, accept: str, payload: dict[str, Any], code: str
) -> None:
    reply = await endpoint.post(payload, accept=accept)

    assert reply.status == (400 if accept == GRAPHQL_RESPONSE else 200)
    assert reply.media_type == accept
    assert "data" not in reply.json
    assert reply.codes == [code] * len(reply.codes)
    assert sum((await sandbox.api_requests()).values()) == 0, "a refused document reaches no upstream"


@pytest.mark.parametrize("accept", BOTH)
async def test_field_errors_are_200_with_data_under_both_media_types(endpoint: Endpoint, accept: str) -> None:
    query = '{ user(id: "user-1") { name email } organization(id: "org-1") { members(first: 1000) { totalCount } } }'
    reply = await endpoint.post({"query": query}, accept=accept)

    assert (reply.status, reply.media_type) == (200, accept)
    assert reply.json["data"]["user"]["name"]
    assert reply.json["data"]["user"]["email"] is None
    assert reply.json["data"]["organization"] is None
    assert sorted(reply.codes) == ["BAD_USER_INPUT", "FORBIDDEN"]


@pytest.mark.parametrize("accept", BOTH)
async def test_a_successful_operation_is_200_with_data_and_no_errors(endpoint: Endpoint, accept: str) -> None:
    reply = await endpoint.post({"query": '{ user(id: "user-1") { id } }'}, accept=accept)

    assert (reply.status, reply.json) == (200, {"data": {"user": {"id": "user-1"}}})
    assert reply.headers["content-type"] == f"{accept}; charset=utf-8"


@pytest.mark.parametrize("accept", [*BOTH, None])
@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH", "HEAD"])
async def test_other_methods_are_405_with_allow(endpoint: Endpoint, method: str, accept: str | None) -> None:
    headers = {"Content-Type": JSON, **({"Accept": accept} if accept else {})}
    reply = await endpoint.request(method, body=b'{"query": "{ __typename }"}', headers=headers)

    assert reply.status == 405
    assert reply.headers["allow"] == "GET, POST, OPTIONS"
    if method != "HEAD":
        assert reply.codes == ["METHOD_NOT_ALLOWED"]


@pytest.mark.parametrize("accept", BOTH)
async def test_a_mutation_over_get_is_405_allowing_post_and_changes_nothing(
    endpoint: Endpoint, sandbox: Sandbox, accept: str
) -> None:
    reply = await endpoint.get({"query": 'mutation { closeIssue(id: "issue-1") { id state } }'}, accept=accept)

    assert (reply.status, reply.headers["allow"]) == (405, "POST")
    assert "data" not in reply.json
    assert reply.codes == ["METHOD_NOT_ALLOWED"]
    assert sum((await sandbox.api_requests()).values()) == 0


async def test_a_named_mutation_over_get_is_405_even_beside_a_query(endpoint: Endpoint) -> None:
    query = 'query Q { __typename } mutation M { closeIssue(id: "issue-1") { id } }'
    assert (await endpoint.get({"query": query, "operationName": "M"})).status == 405
    assert (await endpoint.get({"query": query, "operationName": "Q"})).json == {"data": {"__typename": "Query"}}


@pytest.mark.parametrize(
    "content_type",
    [
        None,
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/xml",
        "application/json; charset=iso-8859-1",
        "application/graphql",
    ],
)
@pytest.mark.parametrize("accept", BOTH)
async def test_a_post_that_is_not_json_in_utf8_is_415(
    endpoint: Endpoint, content_type: str | None, accept: str
) -> None:
    headers = {"Accept": accept}
    if content_type is not None:
        headers["Content-Type"] = content_type
    reply = await endpoint.request("POST", body=b'{"query": "{ __typename }"}', headers=headers)

    assert reply.status == 415
    assert reply.codes == ["UNSUPPORTED_MEDIA_TYPE"]


@pytest.mark.parametrize(
    "content_type",
    ["application/json", "Application/JSON", "application/json; charset=utf-8", "application/json;charset=UTF-8"],
)
async def test_json_content_types_are_matched_case_insensitively_with_their_charset(
    endpoint: Endpoint, content_type: str
) -> None:
    reply = await endpoint.request("POST", body=b'{"query": "{ __typename }"}', headers={"Content-Type": content_type})

    assert (reply.status, reply.json) == (200, {"data": {"__typename": "Query"}})


MALFORMED = [
    pytest.param(b"{not json", id="not-json"),
    pytest.param(b"", id="empty"),
    pytest.param(b"\xff\xfe{}", id="not-utf8"),
    pytest.param(b'"a string"', id="not-an-object"),
    pytest.param(b"{}", id="no-query"),
    pytest.param(b'{"qeury": "{ __typename }"}', id="misspelt-query"),
    pytest.param(b'{"query": ""}', id="empty-query"),
    pytest.param(b'{"query": 7}', id="query-not-a-string"),
    pytest.param(b'{"query": ["{ __typename }"]}', id="query-an-array"),
    pytest.param(b'{"query": "{ __typename }", "variables": [7]}', id="variables-not-an-object"),
    pytest.param(b'{"query": "{ __typename }", "variables": "{}"}', id="variables-a-string"),
    pytest.param(b'{"query": "{ __typename }", "operationName": 7}', id="operation-name-not-a-string"),
    pytest.param(b'{"query": "{ __typename }", "extensions": "x"}', id="extensions-not-an-object"),
    pytest.param(b'[{"query": "{ __typename }"}]', id="a-batch"),
]


@pytest.mark.parametrize("accept", BOTH)
@pytest.mark.parametrize("body", MALFORMED)
async def test_a_request_that_is_not_well_formed_is_400_under_both_media_types(
    endpoint: Endpoint, body: bytes, accept: str
) -> None:
    reply = await endpoint.request("POST", body=body, headers={"Content-Type": JSON, "Accept": accept})

    assert reply.status == 400
    assert "data" not in reply.json
    assert len(reply.codes) == 1
    assert reply.json["errors"][0]["message"]


async def test_null_optional_parameters_are_absent_ones(endpoint: Endpoint) -> None:
    reply = await endpoint.post(
        {"query": "{ __typename }", "variables": None, "operationName": None, "extensions": None, "other": 1}
    )

    assert (reply.status, reply.json) == (200, {"data": {"__typename": "Query"}})


@pytest.mark.parametrize("accept", BOTH)
async def test_a_body_over_the_limit_is_413(endpoint: Endpoint, accept: str) -> None:
    body = b'{"query": "' + b" " * 1_100_000 + b'{ __typename }"}'

    reply = await endpoint.request("POST", body=body, headers={"Content-Type": JSON, "Accept": accept})

    assert reply.status == 413
    assert reply.codes == ["PAYLOAD_TOO_LARGE"]


async def test_a_streamed_body_over_the_limit_is_413(endpoint: Endpoint) -> None:
    async def chunks():  # type: ignore[no-untyped-def]  # aiohttp streams an async generator without a length
        for _ in range(200):
            yield b" " * 10_000

    async with endpoint.http.post(f"{endpoint.url}/graphql", data=chunks(), headers={"Content-Type": JSON}) as response:
        assert response.status == 413
        assert (await response.json())["errors"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE"


@pytest.fixture(scope="module")
def small_limits(sandbox_server: SandboxServerInfo) -> Iterator[GatewayServer]:
    with serving(settings_for(sandbox_server, limits={"max_body_bytes": 4096})) as server:
        yield server


async def test_a_query_string_over_the_limit_is_414(small_limits: GatewayServer, http: aiohttp.ClientSession) -> None:
    endpoint = Endpoint(small_limits.url, http)

    reply = await endpoint.get({"query": "{ __typename }" + " " * 5000})

    assert reply.status == 414
    assert reply.codes == ["URI_TOO_LONG"]
    assert (await endpoint.get({"query": "{ __typename }" + " " * 3000})).status == 200


@pytest.mark.parametrize("authorization", ["Bearer nope", "Basic dXNlcjpwYXNz", "Bearer", "token"])
@pytest.mark.parametrize("accept", BOTH)
async def test_a_credential_that_names_nobody_is_401(endpoint: Endpoint, authorization: str, accept: str) -> None:
    reply = await endpoint.post({"query": "{ __typename }"}, accept=accept, headers={"Authorization": authorization})

    assert reply.status == 401
    assert reply.headers["www-authenticate"].startswith("Bearer error=")
    assert reply.codes == ["UNAUTHENTICATED"]
    assert "data" not in reply.json


@pytest.mark.parametrize("deadline", ["soon", "-5", "0", "nan", ""])
async def test_a_bad_deadline_header_is_400(endpoint: Endpoint, deadline: str) -> None:
    reply = await endpoint.post({"query": "{ __typename }"}, headers={"Mobius-Deadline-Ms": deadline})

    assert reply.status == 400
    assert reply.codes == ["BAD_REQUEST"]
    assert "Mobius-Deadline-Ms" in reply.json["errors"][0]["message"]


@pytest.mark.parametrize("accept", ["text/plain", "text/html", "application/xml, image/*", "application/json;q=0"])
async def test_nothing_acceptable_is_406_with_a_json_body(endpoint: Endpoint, accept: str) -> None:
    reply = await endpoint.post({"query": "{ __typename }"}, accept=accept)

    assert (reply.status, reply.media_type) == (406, JSON)
    assert reply.codes == ["NOT_ACCEPTABLE"]


async def test_request_errors_are_not_logged_as_tracebacks(
    endpoint: Endpoint, caplog: pytest.LogCaptureFixture
) -> None:
    mistakes = [param.values[0] for param in REQUEST_ERRORS]
    with structlog.testing.capture_logs() as events:
        for payload in mistakes:
            await endpoint.post(payload, accept=GRAPHQL_RESPONSE)
        await endpoint.request("POST", body=b"{", headers={"Content-Type": JSON})
        await endpoint.get({"query": 'mutation { closeIssue(id: "issue-1") { id } }'})

    assert [event for event in events if event.get("log_level") in ("error", "critical") or "exc_info" in event] == []
    assert [record for record in caplog.records if record.exc_info] == []


async def test_unknown_operation_names_are_quoted_short(endpoint: Endpoint) -> None:
    reply = await endpoint.post({"query": "query A { __typename }", "operationName": "B" * 5000})

    message = reply.json["errors"][0]["message"]
    assert len(message) < 200
    assert message.startswith("Unknown operation named 'BBB")


async def test_every_refusal_body_is_graphql_shaped_json(endpoint: Endpoint) -> None:
    replies = [
        await endpoint.request("PUT"),
        await endpoint.request("POST", body=b"{}", headers={"Content-Type": "text/plain"}),
        await endpoint.request("POST", body=b"{", headers={"Content-Type": JSON}),
        await endpoint.post({"query": "{ __typename }"}, headers={"Authorization": "Bearer nope"}),
        await endpoint.post({"query": "{ __typename }"}, accept="text/plain"),
        await endpoint.get({}),
    ]

    for reply in replies:
        assert reply.media_type == JSON
        payload = orjson.loads(reply.body)
        assert set(payload) == {"errors"}
        assert all(error["message"] and error["extensions"]["code"] for error in payload["errors"])
