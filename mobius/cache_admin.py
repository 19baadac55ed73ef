"""``POST /admin/cache/invalidate``: invalidation over HTTP, for callers with the ``cache:admin`` scope."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel

from mobius.admin_auth import require_scope
from mobius.callers import CallerRegistry
from resolvers.cache import CacheEngine, CacheUnavailable, InvalidationRequest, invalidate

CACHE_ADMIN_SCOPE = "cache:admin"


class InvalidationResponse(BaseModel):
    deleted: int


def cache_admin_router(engine: CacheEngine | None, callers: CallerRegistry) -> APIRouter:
    router = APIRouter()

    @router.post("/admin/cache/invalidate")
    async def invalidate_endpoint(body: InvalidationRequest, request: Request) -> InvalidationResponse:
        await require_scope(callers, request, CACHE_ADMIN_SCOPE)
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
