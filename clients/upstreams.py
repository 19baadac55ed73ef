"""The upstream clients the gateway holds for its lifetime, one per configured slot."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, TypeVar, cast, runtime_checkable

from clients.declaration import Read, Upstream, Vendor
from clients.health import UpstreamHealth, upstream_health
from clients.http import HttpUpstream
from clients.policy import UpstreamPolicy
from clients.resilience.pipeline import Pipeline

C = TypeVar("C")


@runtime_checkable
class Session(Protocol):
    """A client that holds a session over its transport (a GraphQL client): started and closed
    instead of the bare transport."""

    async def start(self) -> None: ...

    async def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class Connected:
    """One slot as configured: the vendor serving it, that vendor's client and its HTTP transport."""

    upstream: Upstream[Any]
    vendor: Vendor[Any]
    client: Any
    transport: HttpUpstream


class Upstreams:
    def __init__(self, connected: list[Connected]) -> None:
        self.connected = tuple(sorted(connected, key=lambda c: c.upstream.name))
        self._by_upstream = {id(c.upstream): c for c in self.connected}
        self._by_read = {id(read): c for c in self.connected for read in c.upstream.reads}
        self._by_name = {c.upstream.name: c for c in self.connected}

    def __getitem__(self, upstream: Upstream[C]) -> C:
        """The client of ``upstream``'s configured vendor."""
        return cast(C, self._by_upstream[id(upstream)].client)

    def serving(self, read: Read[C, Any, Any]) -> tuple[C, UpstreamPolicy]:
        """The client that answers ``read``, and its upstream's policy."""
        connected = self._by_read[id(read)]
        return cast(C, connected.client), connected.transport.policy

    def transport(self, name: str) -> HttpUpstream:
        return self._by_name[name].transport

    @property
    def transports(self) -> tuple[HttpUpstream, ...]:
        return tuple(c.transport for c in self.connected)

    @property
    def policies(self) -> tuple[UpstreamPolicy, ...]:
        return tuple(transport.policy for transport in self.transports)

    @property
    def pipelines(self) -> tuple[Pipeline, ...]:
        return tuple(transport.pipeline for transport in self.transports)

    def health(self) -> tuple[UpstreamHealth, ...]:
        return tuple(upstream_health(c.transport, vendor=c.vendor.name) for c in self.connected)

    async def reset_resilience(self) -> None:
        """Close every breaker, refill retry budgets and forget learned limits."""
        for pipeline in self.pipelines:
            await pipeline.reset()

    async def start(self) -> None:
        for connection in self._connections():
            await connection.start()

    async def close(self) -> None:
        for connection in self._connections():
            await connection.close()

    def _connections(self) -> list[Session]:
        return [c.client if isinstance(c.client, Session) else c.transport for c in self.connected]
