"""The set of upstream clients the gateway holds for its lifetime."""

from __future__ import annotations

from dataclasses import dataclass

from clients.billing import BillingClient
from clients.graphql import GraphQLUpstream
from clients.http import HttpUpstream
from clients.identity import IdentityClient
from clients.policy import UpstreamPolicy
from clients.projects import ProjectsClient


@dataclass(frozen=True, slots=True)
class Upstreams:
    identity: IdentityClient
    billing: BillingClient
    projects: ProjectsClient

    @property
    def transports(self) -> tuple[HttpUpstream | GraphQLUpstream, ...]:
        return (self.identity.rest.http, self.billing.rest.http, self.projects.graphql)

    @property
    def policies(self) -> tuple[UpstreamPolicy, ...]:
        return tuple(transport.policy for transport in self.transports)

    async def start(self) -> None:
        for transport in self.transports:
            await transport.start()

    async def close(self) -> None:
        for transport in self.transports:
            await transport.close()
