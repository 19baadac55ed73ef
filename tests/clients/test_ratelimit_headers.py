"""Reading upstreams' rate-limit headers: the IETF drafts' fields and policies, X-RateLimit-*
resets as a delay or an epoch, any header case, and Retry-After as seconds or an HTTP date."""

from __future__ import annotations

from email.utils import formatdate

import pytest
from multidict import CIMultiDict, CIMultiDictProxy

from clients.resilience.ratelimit_headers import NOTHING, Quota, parse_rate_limit, parse_retry_after

NOW = 1_764_000_000.0


def test_ietf_structured_field_and_policy_are_understood() -> None:
    info = parse_rate_limit(
        {"RateLimit": "limit=10, remaining=0, reset=30", "RateLimit-Policy": "10;w=1"}, wall_now=NOW
    )
    assert (info.remaining, info.reset_s, info.quota) == (0, 30, Quota(limit=10, window_s=1))
    assert info.block_s == 30


def test_the_newer_ietf_draft_shape_is_understood() -> None:
    info = parse_rate_limit(
        {"RateLimit": '"default";r=3;t=12', "RateLimit-Policy": '"default";q=100;w=60'}, wall_now=NOW
    )
    assert (info.remaining, info.reset_s, info.quota) == (3, 12, Quota(limit=100, window_s=60))
    assert info.block_s is None


@pytest.mark.parametrize(
    ("reset", "expected_s"),
    [("42", 42), (str(int(NOW) + 17), 17), (str(int(NOW * 1000) + 5000), 5), (str(int(NOW) - 5), 0)],
    ids=["delay", "epoch-seconds", "epoch-milliseconds", "epoch-in-the-past"],
)
def test_x_ratelimit_reset_is_read_as_delay_or_epoch(reset: str, expected_s: float) -> None:
    info = parse_rate_limit({"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset}, wall_now=NOW)
    assert info.remaining == 0
    assert info.reset_s == pytest.approx(expected_s)


@pytest.mark.parametrize("name", ["X-RateLimit-Remaining", "x-ratelimit-remaining", "X-RATELIMIT-REMAINING"])
@pytest.mark.parametrize("kind", ["transport", "multidict"])
def test_rate_limit_headers_are_read_whatever_their_case(name: str, kind: str) -> None:
    """aiohttp's read-only headers and a mutable case-insensitive dict alike."""
    pairs = [("Content-Type", "application/json"), (name, "7")]
    headers = CIMultiDictProxy(CIMultiDict(pairs)) if kind == "transport" else CIMultiDict(pairs)
    assert parse_rate_limit(headers, wall_now=NOW).remaining == 7


def test_a_response_without_rate_limit_headers_says_nothing() -> None:
    headers = CIMultiDictProxy(CIMultiDict([("Content-Type", "application/json"), ("Date", "x"), ("Server", "y")]))
    assert parse_rate_limit(headers, wall_now=NOW) is NOTHING
    assert parse_rate_limit({}, wall_now=NOW) is NOTHING


def test_retry_after_as_seconds_or_http_date() -> None:
    assert parse_retry_after("7", wall_now=NOW) == 7
    assert parse_retry_after(formatdate(NOW + 20, usegmt=True), wall_now=NOW) == pytest.approx(20)
    assert parse_retry_after("soon", wall_now=NOW) is None
