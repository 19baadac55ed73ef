"""Both executors answer the hand-written documents alike (``differential_documents``: aliases,
fragments on every level, directives with variables, nulls through non-null fields, failing list
items, introspection, federation), healthy and under a fixed set of upstream faults, and report the
same errors where a non-null error nulls a parent or an upstream hangs."""

from __future__ import annotations

from typing import Any

import pytest
from differential_documents import HANDWRITTEN
from differential_support import DIFFERENTIAL_WARNINGS, Case, Executors
from harness import DASHBOARD_QUERY

pytestmark = DIFFERENTIAL_WARNINGS


@pytest.mark.parametrize("name", sorted(HANDWRITTEN))
@pytest.mark.parametrize(
    "faults",
    [
        {},
        {
            "identity": {"error_rate": 1, "status": 503, "routes": ["GET /v1/orgs/{id}/members", "GET /v1/users"]},
            "billing": {"malformed": True, "routes": ["GET /v1/invoices"]},
            "projects": {"latency_ms": 5},
        },
    ],
    ids=["healthy", "faulty"],
)
async def test_both_executors_answer_the_tricky_documents_alike(
    executors: Executors, name: str, faults: dict[str, dict[str, Any]]
) -> None:
    variables = {"org": "org-1", "orgId": "org-1", "user": "user-2", "project": "proj-1", "first": 2}
    answer = await executors.compare(Case(HANDWRITTEN[name], {**variables, "yes": True, "no": False}, faults, True))
    if not faults:
        assert answer["data"] is not None, answer


async def test_every_error_of_the_fields_that_ran_is_reported_when_a_non_null_error_nulls_their_parent(
    executors: Executors,
) -> None:
    document = '{ organization(id: "org-1") { id members(first: 0) { totalCount } projects(first: 0) { totalCount } } }'
    answer = await executors.compare(Case(document, {}, {}, admin=True))
    assert answer["data"] == {"organization": None}
    assert [(error["path"], error["extensions"]["code"]) for error in answer["errors"]] == [
        (["organization", "members"], "BAD_USER_INPUT"),
        (["organization", "projects"], "BAD_USER_INPUT"),
    ]


async def test_a_hung_upstream_is_a_timeout_on_both_executors(executors: Executors) -> None:
    answer = await executors.compare(Case(DASHBOARD_QUERY, {"orgId": "org-1"}, {"billing": {"hang": True}}, admin=True))
    assert answer["data"]["organization"]["billing"] is None
    assert {error["extensions"]["code"] for error in answer["errors"]} == {"UPSTREAM_TIMEOUT"}
