"""The one invalidation entry point, shared by the HTTP admin endpoint, the CLI and event handlers."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from resolvers.cache.engine import CacheEngine


class InvalidationRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    entities: list[str] = []  # e.g. ["User:u-42"]
    tags: list[str] = []  # e.g. ["org:org-1"]
    all: bool = False  # every entry of this gateway's prefix


async def invalidate(engine: CacheEngine, request: InvalidationRequest) -> int:
    """How many entries were deleted. Raises ``ValueError`` (``UnknownEntity`` among them) for a
    malformed request and ``CacheUnavailable`` when the store is down."""
    if request.all:
        return await engine.invalidate_all()
    if not request.entities and not request.tags:
        raise ValueError("name at least one entity or tag, or all")
    return await engine.invalidate(entities=request.entities, tags=request.tags)
