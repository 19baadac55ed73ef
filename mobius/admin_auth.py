"""Who may call an admin endpoint: an authenticated caller holding the endpoint's scope."""

from __future__ import annotations

from fastapi import HTTPException, Request

from mobius.callers import CallerRegistry, UnknownCaller
from schema.context import Caller


async def require_scope(callers: CallerRegistry, request: Request, scope: str) -> Caller:
    """The caller, or 401 (no or a refused credential) / 403 (without ``scope``)."""
    try:
        caller = await callers.identify(request.headers.get("authorization"))
    except UnknownCaller as refused:
        headers = {"WWW-Authenticate": refused.www_authenticate} if refused.status == 401 else None
        raise HTTPException(refused.status, refused.reason, headers=headers) from None
    if not caller.authenticated:
        raise HTTPException(401, "a bearer token is required", headers={"WWW-Authenticate": "Bearer"})
    if scope not in caller.scopes:
        raise HTTPException(403, f"this needs the `{scope}` scope")
    return caller
