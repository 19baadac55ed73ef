"""The gateway's ASGI app: FastAPI, with ``/graphql`` answered in front of FastAPI's own stack.

A request to ``/graphql`` (HTTP or a WebSocket handshake) goes straight to its chain, the request
telemetry and then ``mobius.endpoint``, which answers every error itself. FastAPI's per-request
layers (its error and exception middlewares, its body limit and its own OpenTelemetry hooks)
would add coroutines and checks to every GraphQL request and give it nothing: the gateway traces
and counts its requests itself (``mobius.telemetry.requests``). Every other request, and the
lifespan, is FastAPI's: routes, middlewares, exception handlers.
"""

from __future__ import annotations

from fastapi import FastAPI
from starlette.types import ASGIApp, Receive, Scope, Send


class GatewayApp(FastAPI):
    graphql_path = "/graphql"
    graphql: ASGIApp | None = None
    """What answers ``graphql_path``; until it is set, FastAPI answers everything."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        graphql = self.graphql
        if graphql is not None and scope["type"] != "lifespan" and scope["path"] == self.graphql_path:
            scope["app"] = self
            await graphql(scope, receive, send)
            return
        await super().__call__(scope, receive, send)
