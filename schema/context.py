"""The typed per-request context, built by one FastAPI dependency in mobius/."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension
from strawberry.fastapi import BaseContext

from clients.upstreams import Upstreams
from resolvers.cache import CacheEngine, ResponseCache
from resolvers.fleet import FleetView
from resolvers.loaders import Loaders
from schema.feed import EventFeed


@dataclass(frozen=True, slots=True)
class Caller:
    """Who is asking: ``authenticated`` and ``scopes`` are what the schema's authorization rules
    (``schema.authorization``) check. The default is the anonymous caller."""

    name: str = "anonymous"
    scopes: frozenset[str] = frozenset()
    user_id: str | None = None
    authenticated: bool = False


class GatewayContext(BaseContext):
    def __init__(
        self,
        *,
        loaders: Loaders,
        upstreams: Upstreams,
        caller: Caller,
        fallbacks: frozenset[str] = frozenset(),
        cache: CacheEngine | None = None,
        responses: ResponseCache | None = None,
        fleet: FleetView | None = None,
        events: EventFeed | None = None,
    ) -> None:
        super().__init__()
        self.loaders = loaders
        self.upstreams = upstreams
        self.caller = caller
        self.fallbacks = fallbacks
        """Field coordinates (``Type.field``) whose declared fallback is enabled."""
        self.degraded: list[GraphQLError] = []
        """Errors of fields that resolved to a fallback; reported with the response."""
        self.cache = cache
        self.responses = responses
        self.fleet = fleet
        """Every gateway process's reported state; ``None`` in contexts built without one (tests)."""
        self.events = events
        """The feed subscriptions read; ``None`` where subscriptions are off."""
        self.on_overflow: Callable[[], None] | None = None
        """What the transport does when one of its subscribers falls too far behind (close it)."""
        self.users: dict[str, Any] = {}
        """Users met in this response, by id (``schema.identity.user_now_or_later``)."""

    @property
    def instance(self) -> str:
        """The process answering (``<replica>:<pid>``)."""
        return self.fleet.instance if self.fleet is not None else "local"

    def release(self) -> None:
        """Drop what the request loaded and built, once its operation is answered."""
        self.loaders.release()
        self.users.clear()


class ReleaseAfterOperation(SchemaExtension):
    """Frees a request's loaded values by reference counting as soon as its operation is answered.

    graphql-core's execution context keeps bound methods of itself, so the objects of a request
    (context, loaders, every future and upstream model reachable from them) form one reference
    cycle and would otherwise wait for the cyclic garbage collector, which then spent about a tenth
    of the gateway's CPU walking them."""

    def on_operation(self) -> Iterator[None]:
        yield
        context = self.execution_context.context
        if isinstance(context, GatewayContext):
            context.release()
