"""Query strings of upstream calls: written as ``urlencode(params, safe=',')`` writes them, with
plain names and values (ids, numbers, comma-joined id lists) taken as they are; route values as
``quote(value, safe='')`` writes them."""

from __future__ import annotations

from urllib.parse import quote, urlencode

import pytest
from hypothesis import given
from hypothesis import strategies as st

from clients.http import build_path
from clients.rest import fill_route


@pytest.mark.parametrize(
    "params",
    [
        {"ids": "u-1,u-2,u_3", "first": 50},
        {"after": "b2Zmc2V0OjEw", "state": "OPEN"},
        {"q": "a b&c=d", "name": "Zoë ☃", "empty": ""},
        {"path": "/x?y#z", "pct": "100%", "plus": "a+b", "tilde": "~.-_"},
        {"n": -3, "flag": True, "zero": 0},
        {"ids": ",".join(f"user-{n}" for n in range(60)), "first": 50},
        {"ids": ",".join(f"user-{n}" for n in range(60)) + ",user 61"},
        {"ids": "user-1,user-2,user-3,user-4\n", "name": "Zoë Zoë Zoë Zoë Zoë"},
    ],
)
def test_query_strings_are_the_ones_urlencode_writes(params: dict[str, str | int]) -> None:
    assert build_path("/v1/users", params) == f"/v1/users?{urlencode(params, safe=',')}"


def test_a_call_without_parameters_has_no_query_string() -> None:
    assert build_path("/v1/orgs/org-1", None) == "/v1/orgs/org-1"
    assert build_path("/v1/orgs/org-1", {}) == "/v1/orgs/org-1"


@given(st.dictionaries(st.text(max_size=8), st.text(max_size=40) | st.integers(), max_size=4))
def test_any_names_and_values_are_written_as_urlencode_writes_them(params: dict[str, str | int]) -> None:
    assert build_path("/v1/users", params) == (f"/v1/users?{urlencode(params, safe=',')}" if params else "/v1/users")


@given(st.text(max_size=12))
def test_a_route_value_is_one_segment_as_quote_writes_it(value: str) -> None:
    assert fill_route("/v1/orgs/{org_id}/members", {"org_id": value}) == f"/v1/orgs/{quote(value, safe='')}/members"


@given(st.text(max_size=12), st.text(max_size=12))
def test_a_route_with_two_values_fills_each_segment_as_quote_writes_it(first: str, second: str) -> None:
    route = "/v1/orgs/{org_id}/members/{user_id}/roles"
    expected = f"/v1/orgs/{quote(first, safe='')}/members/{quote(second, safe='')}/roles"

    assert fill_route(route, {"user_id": second, "org_id": first}) == expected
    assert fill_route(route, {"org_id": first, "user_id": second}) == expected
