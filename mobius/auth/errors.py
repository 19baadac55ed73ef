"""What verifying a JWT can end in, apart from a caller: importable without PyJWT and cryptography,
which ``mobius.callers`` loads only when ``auth.jwt`` is configured."""

from __future__ import annotations


class TokenRefused(Exception):
    """The token is not one this gateway accepts; ``reason`` says why, for the caller."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class KeysUnavailable(Exception):
    """No signing keys could be had (the provider is unreachable and none were fetched before)."""
