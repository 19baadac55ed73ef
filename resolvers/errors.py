"""Errors the gateway itself raises for a caller. They are public: message and code reach clients."""

from __future__ import annotations


class GatewayError(Exception):
    code = "GATEWAY_ERROR"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidArgument(GatewayError):
    code = "BAD_USER_INPUT"


class Unauthenticated(GatewayError):
    code = "UNAUTHENTICATED"


class Forbidden(GatewayError):
    code = "FORBIDDEN"


class SubscriptionsDisabled(GatewayError):
    code = "SUBSCRIPTIONS_DISABLED"


def check_page_size(first: int, *, name: str = "first", maximum: int = 100) -> int:
    if not 0 < first <= maximum:
        raise InvalidArgument(f"`{name}` must be between 1 and {maximum}, got {first}")
    return first
