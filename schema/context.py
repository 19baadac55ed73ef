"""The typed per-request context, built by one FastAPI dependency in mobius/."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension
from strawberry.fastapi import BaseContext

from clients.resilience.pipeline import PipelineStatus, RecentTransition
from clients.upstreams import Upstreams
from resolvers.cache import CacheEngine, ResponseCache
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
    failure_rate: float | None = None
    slow_call_rate: float | None = None
    calls_in_window: int = 0
    in_flight: int = 0
    retry_budget_left: float = 0.0
    rate_limit_remaining: int | None = None
    last_error: str | None = None
    transitions: tuple[RecentTransition, ...] = field(default=())
    shared_reads: int = 0

    @classmethod
    def of(cls, name: str, url: str, status: PipelineStatus, *, shared_reads: int = 0) -> UpstreamStatus:
        return cls(
            name=name,
            url=url,
            state=status.state,
            failure_rate=status.failure_rate,
            slow_call_rate=status.slow_call_rate,
            calls_in_window=status.calls_in_window,
            in_flight=status.in_flight,
            retry_budget_left=status.retry_budget_left,
            rate_limit_remaining=status.rate_limit_remaining,
            last_error=status.last_error,
            transitions=status.transitions,
            shared_reads=shared_reads,
        )


class GatewayContext(BaseContext):
    def __init__(
        self,
        *,
        loaders: Loaders,
        upstreams: Upstreams,
        caller: Caller,
        upstream_status: Callable[[], Sequence[UpstreamStatus]],
        fallbacks: frozenset[str] = frozenset(),
        cache: CacheEngine | None = None,
        responses: ResponseCache | None = None,
    ) -> None:
        super().__init__()
        self.loaders = loaders
        self.upstreams = upstreams
        self.caller = caller
        self.upstream_status = upstream_status
        self.fallbacks = fallbacks
        """Field coordinates (``Type.field``) whose declared fallback is enabled."""
        self.degraded: list[GraphQLError] = []
        """Errors of fields that resolved to a fallback; reported with the response."""
        self.cache = cache
        self.responses = responses
        self.users: dict[str, Any] = {}
        """Users built for this response, by id (``schema.identity.user_now_or_later``)."""

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
