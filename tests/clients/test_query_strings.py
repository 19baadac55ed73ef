"""Query strings of upstream calls: written as ``urlencode(params, safe=',')`` writes them, with
plain names and values (ids, numbers, comma-joined id lists) taken as they are."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest

from clients.http import build_path


@pytest.mark.parametrize(
    "params",
    [
        {"ids": "u-1,u-2,u_3", "first": 50},
        {"after": "b2Zmc2V0OjEw", "state": "OPEN"},
        {"q": "a b&c=d", "name": "Zoë ☃", "empty": ""},
        {"path": "/x?y#z", "pct": "100%", "plus": "a+b", "tilde": "~.-_"},
        {"n": -3, "flag": True, "zero": 0},
    ],
)
def test_query_strings_are_the_ones_urlencode_writes(params: dict[str, str | int]) -> None:
    assert build_path("/v1/users", params) == f"/v1/users?{urlencode(params, safe=',')}"


def test_a_call_without_parameters_has_no_query_string() -> None:
    assert build_path("/v1/orgs/org-1", None) == "/v1/orgs/org-1"
    assert build_path("/v1/orgs/org-1", {}) == "/v1/orgs/org-1"
