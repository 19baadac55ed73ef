"""The typed per-request context, built by one FastAPI dependency in mobius/."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from strawberry.fastapi import BaseContext

from clients.upstreams import Upstreams
from resolvers.cache import CacheEngine
from resolvers.loaders import Loaders


@dataclass(frozen=True, slots=True)
class Caller:
    """Who is asking. ``scopes`` gate fields such as PII."""

    name: str = "anonymous"
    scopes: frozenset[str] = frozenset()
    user_id: str | None = None


@dataclass(frozen=True, slots=True)
class UpstreamStatus:
    name: str
    url: str
    state: str


class GatewayContext(BaseContext):
    def __init__(
        self,
        *,
        loaders: Loaders,
        upstreams: Upstreams,
        caller: Caller,
        upstream_status: Callable[[], Sequence[UpstreamStatus]],
        cache: CacheEngine | None = None,
    ) -> None:
        super().__init__()
        self.loaders = loaders
        self.upstreams = upstreams
        self.caller = caller
        self.upstream_status = upstream_status
        self.cache = cache
