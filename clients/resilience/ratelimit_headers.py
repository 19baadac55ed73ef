"""What an upstream's response says about its rate limit.

Understood: ``Retry-After`` (seconds or an HTTP date), the IETF ``RateLimit`` field in both
draft shapes (``limit=10, remaining=0, reset=30`` and ``"default";r=0;t=30``) with
``RateLimit-Policy`` (``10;w=1`` or ``"default";q=10;w=1``), the older ``RateLimit-Remaining``/
``RateLimit-Reset`` pair, and ``X-RateLimit-Remaining``/``X-RateLimit-Reset``, whose reset is
often an epoch time: values after 2001-09-09 (1e9) are read as epoch seconds, after 1e12 as
epoch milliseconds, smaller ones as a delay in seconds.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

from multidict import CIMultiDict, CIMultiDictProxy, istr

_EPOCH_S = 1e9
_EPOCH_MS = 1e12
_PARAM = re.compile(r"(?:^|[,;\s])([a-zA-Z-]+)\s*=\s*\"?([0-9.]+)\"?")
_LEADING_NUMBER = re.compile(r"^\s*([0-9]+)\s*(?:[,;]|$)")


@dataclass(frozen=True, slots=True)
class Quota:
    """``limit`` requests per ``window_s`` seconds."""

    limit: int
    window_s: float


@dataclass(frozen=True, slots=True)
class RateLimitInfo:
    remaining: int | None = None
    reset_s: float | None = None
    """Seconds from now until the quota resets."""
    retry_after_s: float | None = None
    quota: Quota | None = None

    @property
    def block_s(self) -> float | None:
        """How long to send nothing, if the upstream said so."""
        if self.retry_after_s is not None:
            return self.retry_after_s
        if self.remaining == 0 and self.reset_s is not None:
            return self.reset_s
        return None


def parse_retry_after(value: str | None, *, wall_now: float) -> float | None:
    if value is None:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - wall_now)
    except (TypeError, ValueError, IndexError):
        return None


def reset_delay_s(value: float, *, wall_now: float) -> float:
    """A reset value as a delay, whether the upstream sent a delay or an epoch time."""
    if value >= _EPOCH_MS:
        return max(0.0, value / 1000 - wall_now)
    if value >= _EPOCH_S:
        return max(0.0, value - wall_now)
    return max(0.0, value)


NOTHING = RateLimitInfo()
"""What a response without any of the headers below says."""
_HEADERS = (
    "RateLimit",
    "RateLimit-Remaining",
    "X-RateLimit-Remaining",
    "RateLimit-Reset",
    "X-RateLimit-Reset",
    "Retry-After",
    "RateLimit-Policy",
)


_NAMES = frozenset(name.lower() for name in _HEADERS)
"""Lowered, as a plain mapping's names are compared with them."""
_CI_NAMES = tuple(istr(name) for name in _HEADERS)
"""As a case-insensitive mapping's keys are compared with them (``istr``: folded once, here)."""
_CASE_INSENSITIVE = (CIMultiDictProxy, CIMultiDict)


def parse_rate_limit(headers: Mapping[str, str], *, wall_now: float) -> RateLimitInfo:
    """``NOTHING`` (the same object) when the response carries none of the headers read here.

    Whether it does: a transport's case-insensitive headers (aiohttp's) answer it in one call of
    C, their keys against our names (a case-insensitive set operation); any other mapping by the
    few names it has, lowered."""
    if isinstance(headers, _CASE_INSENSITIVE):
        if headers.keys().isdisjoint(_CI_NAMES):
            return NOTHING
    elif _NAMES.isdisjoint([name.lower() for name in headers]):
        return NOTHING
    remaining, reset = _ietf(headers.get("RateLimit"))
    if remaining is None:
        remaining = _int(headers.get("RateLimit-Remaining") or headers.get("X-RateLimit-Remaining"))
    if reset is None:
        reset = _float(headers.get("RateLimit-Reset") or headers.get("X-RateLimit-Reset"))
    return RateLimitInfo(
        remaining=remaining,
        reset_s=None if reset is None else reset_delay_s(reset, wall_now=wall_now),
        retry_after_s=parse_retry_after(headers.get("Retry-After"), wall_now=wall_now),
        quota=_policy(headers.get("RateLimit-Policy")),
    )


def _params(value: str) -> dict[str, str]:
    return {key.lower(): number for key, number in _PARAM.findall(value)}


def _ietf(value: str | None) -> tuple[int | None, float | None]:
    if not value:
        return None, None
    params = _params(value)
    remaining = params.get("remaining", params.get("r"))
    reset = params.get("reset", params.get("t"))
    return _int(remaining), _float(reset)


def _policy(value: str | None) -> Quota | None:
    if not value:
        return None
    first = value.split(",")[0]
    params = _params(first)
    leading = _LEADING_NUMBER.match(first)
    limit = _int(params.get("q") or (leading.group(1) if leading else None))
    window = _float(params.get("w"))
    if limit is None or window is None or window <= 0:
        return None
    return Quota(limit=limit, window_s=window)


def _int(value: str | None) -> int | None:
    number = _float(value)
    return None if number is None else int(number)


def _float(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if number >= 0 else None
