"""``POST /admin/cache/invalidate``: invalidation over HTTP, for callers with the ``cache:admin`` scope."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel

from mobius.callers import CallerRegistry, UnknownCaller
from resolvers.cache import CacheEngine, CacheUnavailable, InvalidationRequest, invalidate

CACHE_ADMIN_SCOPE = "cache:admin"


class InvalidationResponse(BaseModel):
    deleted: int


def cache_admin_router(engine: CacheEngine | None, callers: CallerRegistry) -> APIRouter:
    router = APIRouter()

    @router.post("/admin/cache/invalidate")
    async def invalidate_endpoint(body: InvalidationRequest, request: Request) -> InvalidationResponse:
        try:
            caller = await callers.identify(request.headers.get("authorization"))
        except UnknownCaller as refused:
            headers = {"WWW-Authenticate": refused.www_authenticate} if refused.status == 401 else None
            raise HTTPException(refused.status, refused.reason, headers=headers) from None
        if not caller.authenticated:
            raise HTTPException(401, "a bearer token is required", headers={"WWW-Authenticate": "Bearer"})
        if CACHE_ADMIN_SCOPE not in caller.scopes:
            raise HTTPException(403, f"this needs the `{CACHE_ADMIN_SCOPE}` scope")
        if engine is None:
            raise HTTPException(409, "the cache is disabled")
        try:
            deleted = await invalidate(engine, body)
        except ValueError as exc:
            raise HTTPException(400, str(exc)) from None
        except CacheUnavailable:
            raise HTTPException(503, "the cache store is unavailable; nothing was invalidated") from None
        return InvalidationResponse(deleted=deleted)

    return router
