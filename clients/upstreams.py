"""The set of upstream clients the gateway holds for its lifetime."""

from __future__ import annotations

from dataclasses import dataclass

from clients.billing import BillingClient
from clients.graphql import GraphQLUpstream
from clients.health import UpstreamHealth, upstream_health
from clients.http import HttpUpstream
from clients.identity import IdentityClient
from clients.policy import UpstreamPolicy
from clients.projects import ProjectsClient
from clients.resilience.pipeline import Pipeline


@dataclass(frozen=True, slots=True)
class Upstreams:
    identity: IdentityClient
    billing: BillingClient
    projects: ProjectsClient

    @property
    def transports(self) -> tuple[HttpUpstream, ...]:
        return (self.identity.rest.http, self.billing.rest.http, self.projects.graphql.http)

    @property
    def connections(self) -> tuple[HttpUpstream | GraphQLUpstream, ...]:
        """What is started and closed: a GraphQL upstream's session holds its HTTP transport."""
        return (self.identity.rest.http, self.billing.rest.http, self.projects.graphql)

    @property
    def policies(self) -> tuple[UpstreamPolicy, ...]:
        return tuple(transport.policy for transport in self.transports)

    @property
    def pipelines(self) -> tuple[Pipeline, ...]:
        return tuple(transport.pipeline for transport in self.transports)

    def health(self) -> tuple[UpstreamHealth, ...]:
        return tuple(upstream_health(transport) for transport in self.transports)

    async def reset_resilience(self) -> None:
        """Close every breaker, refill retry budgets and forget learned limits."""
        for pipeline in self.pipelines:
            await pipeline.reset()

    async def start(self) -> None:
        for connection in self.connections:
            await connection.start()

    async def close(self) -> None:
        for connection in self.connections:
            await connection.close()
