"""Per-field fallbacks, declared here and nowhere else.

When the upstream behind a listed field is unavailable (``UpstreamUnavailable``: down, timed out,
circuit open, rate limited), the field resolves to its fallback value instead of failing its
parent, and the error is still reported on the field's path with ``extensions.fallback: true``.
Which fallbacks are active is configured (``degradation.fallbacks``); the values live here.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from graphql import GraphQLError

from clients.errors import UpstreamUnavailable
from schema.common import GatewayInfo

T = TypeVar("T")

FALLBACKS: dict[str, Callable[[], Any]] = {
    "BillingAccount.invoices": list,
}
"""Field coordinate -> a factory for its fallback value."""


async def with_fallback(info: GatewayInfo, coordinate: str, value: Awaitable[T]) -> T:
    """``await value``, or the field's fallback if its upstream is unavailable and it is enabled."""
    try:
        return await value
    except UpstreamUnavailable as error:
        if coordinate not in info.context.fallbacks:
            raise
        info.context.degraded.append(
            GraphQLError(error.message, path=info.path.as_list(), original_error=error, extensions={"fallback": True})
        )
        fallback: T = FALLBACKS[coordinate]()
        return fallback
