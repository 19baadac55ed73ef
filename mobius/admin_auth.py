"""Who may call an admin endpoint: a known bearer token whose caller holds the endpoint's scope."""

from __future__ import annotations

from fastapi import HTTPException, Request

from mobius.callers import ANONYMOUS, CallerRegistry, UnknownCaller
from schema.context import Caller


def require_scope(callers: CallerRegistry, request: Request, scope: str) -> Caller:
    """The caller, or 401 (no or unknown token) / 403 (without ``scope``)."""
    try:
        caller = callers.identify(request.headers.get("authorization"))
    except UnknownCaller:
        raise HTTPException(401, "unknown bearer token", headers={"WWW-Authenticate": "Bearer"}) from None
    if caller is ANONYMOUS:
        raise HTTPException(401, "a bearer token is required", headers={"WWW-Authenticate": "Bearer"})
    if scope not in caller.scopes:
        raise HTTPException(403, f"this needs the `{scope}` scope")
    return caller
