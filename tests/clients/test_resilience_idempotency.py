"""Only idempotent calls are retried: GETs and GraphQL queries always, other methods and
mutations only with an idempotency key. GraphQL errors inside an HTTP 200 are classified too."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from clients.billing import BILLING
from clients.errors import (
    RateLimited,
    UpstreamServerError,
    UpstreamTimeout,
    UpstreamUnavailable,
    graphql_outage,
)
from clients.graphql import GraphQLResult
from clients.identity import IDENTITY
from clients.projects import PROJECTS_SLOT
from clients.upstreams import Upstreams
from tests.clients.support import route_count, started_with

LENIENT = {"resilience": {"breaker": {"minimum_calls": 1000, "window_size": 1000}, "retry": {"attempts": 3}}}


@pytest.fixture
async def retrying(sandbox: Any) -> AsyncIterator[Upstreams]:
    built = await started_with(sandbox.urls, sandbox.credentials, identity=LENIENT, billing=LENIENT, projects=LENIENT)
    try:
        yield built
    finally:
        await built.close()


async def test_paying_with_an_idempotency_key_is_retried(sandbox: Any, retrying: Upstreams) -> None:
    await sandbox.faults("billing", error_rate=1.0, status=503, routes=["POST /v1/invoices/{id}/pay"])

    with pytest.raises(UpstreamUnavailable):
        await retrying[BILLING].pay_invoice("inv-1", idempotency_key="retry-me")

    assert await route_count(sandbox, "billing", "POST /v1/invoices/{id}/pay") == 3


async def test_a_patch_without_an_idempotency_key_is_sent_once(sandbox: Any, retrying: Upstreams) -> None:
    await retrying[IDENTITY].users_by_ids(["user-1"])  # a token first
    await sandbox.faults("identity", error_rate=1.0, status=503, routes=["PATCH /v1/users/{id}"])

    with pytest.raises(UpstreamUnavailable):
        await retrying[IDENTITY].update_user("user-1", changes={"name": "X"}, if_match="etag")

    assert await route_count(sandbox, "identity", "PATCH /v1/users/{id}") == 1


async def test_a_graphql_mutation_is_sent_once_and_a_query_is_retried(sandbox: Any, retrying: Upstreams) -> None:
    await sandbox.faults("projects", error_rate=1.0, status=503)

    with pytest.raises(UpstreamUnavailable):
        await retrying[PROJECTS_SLOT].create_issue("proj-1", "never twice")
    assert await route_count(sandbox, "projects", "POST /graphql") == 1

    with pytest.raises(UpstreamUnavailable):
        await retrying[PROJECTS_SLOT].projects_by_ids(["proj-1"])
    assert await route_count(sandbox, "projects", "POST /graphql") == 4


def result(code: str | None, *, data: dict[str, Any] | None = None, **extensions: Any) -> GraphQLResult:
    error: dict[str, Any] = {"message": "no", "extensions": {"code": code, **extensions}} if code else {"message": "no"}
    return GraphQLResult(data=data, errors=[error], extensions=None)


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("RATE_LIMITED", RateLimited),
        ("SERVICE_UNAVAILABLE", UpstreamUnavailable),
        ("GATEWAY_TIMEOUT", UpstreamTimeout),
        ("INTERNAL_SERVER_ERROR", UpstreamServerError),
    ],
)
def test_outage_codes_inside_a_graphql_200_are_classified(code: str, expected: type[Exception]) -> None:
    answer = result(code)
    error = graphql_outage("projects", answer.data, answer.errors)
    assert type(error) is expected


def test_a_rate_limited_graphql_error_carries_its_retry_after() -> None:
    answer = result("RATE_LIMITED", retryAfter=7)
    error = graphql_outage("projects", answer.data, answer.errors)
    assert error is not None
    assert error.retry_after_s == 7
    assert error.retryable


@pytest.mark.parametrize(
    "answer",
    [result("NOT_FOUND"), result(None), result("RATE_LIMITED", data={"k0": None})],
    ids=["domain-error", "no-code", "partial-data"],
)
def test_domain_errors_and_partial_data_are_left_to_the_caller(answer: GraphQLResult) -> None:
    assert graphql_outage("projects", answer.data, answer.errors) is None
