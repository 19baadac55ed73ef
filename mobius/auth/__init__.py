"""Identifying the gateway's own callers by JWT: the signing keys (``jwks``) and the verification
of a token into a ``Caller`` (``jwt``). ``mobius.callers`` combines them with the static API keys."""
