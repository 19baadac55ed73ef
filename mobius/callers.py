"""Recognises the gateway's own callers by bearer token and gives them their scopes."""

from __future__ import annotations

import hmac
from collections.abc import Sequence

from clients.secrets import SecretSource
from schema.context import Caller

ANONYMOUS = Caller()


class UnknownCaller(Exception):
    """A bearer token was presented that matches no configured caller."""


class CallerRegistry:
    def __init__(self, callers: Sequence[tuple[Caller, SecretSource]]) -> None:
        self._callers = tuple(callers)

    def identify(self, authorization: str | None) -> Caller:
        if not authorization:
            return ANONYMOUS
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise UnknownCaller
        for caller, secret in self._callers:
            if hmac.compare_digest(token.encode(), secret.reveal().encode()):
                return caller
        raise UnknownCaller
