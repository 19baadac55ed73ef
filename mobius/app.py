"""The app factory: FastAPI + the Strawberry router at /graphql, health, GraphiQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import orjson
from cross_web import HTTPException as StrawberryHTTPException
from fastapi import FastAPI, HTTPException
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.requests import HTTPConnection, Request
from strawberry.fastapi import GraphQLRouter
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL, GRAPHQL_WS_PROTOCOL

from clients.upstreams import Upstreams
from mobius.callers import CallerRegistry, UnknownCaller
from mobius.graphiql import GRAPHIQL_CSP, STATIC_DIR, render_graphiql_page
from mobius.limits import BodySizeLimit
from mobius.runtime import tune_gc
from mobius.settings import Settings
from mobius.upstreams import build_upstreams, secret_source
from resolvers.loaders import Loaders
from schema.context import Caller, GatewayContext, UpstreamStatus
from schema.root import build_schema

GRAPHIQL_STATIC_PREFIX = "/graphiql/static"


class MobiusGraphQLRouter(GraphQLRouter[GatewayContext, None]):
    """Strawberry's router with orjson responses and GraphiQL served from local assets."""

    def encode_json(self, data: object) -> bytes:
        return orjson.dumps(data)

    def parse_json(self, data: str | bytes) -> Any:
        try:
            parsed = orjson.loads(data)
        except orjson.JSONDecodeError:
            raise StrawberryHTTPException(400, "Unable to parse request body as JSON") from None
        if not isinstance(parsed, dict | list):
            raise StrawberryHTTPException(400, "The request body must be a JSON object")
        return parsed

    async def render_graphql_ide(self, request: Request) -> HTMLResponse:
        page = render_graphiql_page(static_prefix=GRAPHIQL_STATIC_PREFIX, graphql_path=request.url.path)
        return HTMLResponse(page, headers={"Content-Security-Policy": GRAPHIQL_CSP})


def build_callers(settings: Settings) -> CallerRegistry:
    return CallerRegistry(
        [
            (
                Caller(name=caller.name, scopes=frozenset(caller.scopes), user_id=caller.user_id),
                secret_source(caller.token),
            )
            for caller in settings.callers
        ]
    )


def create_app(settings: Settings, *, upstreams: Upstreams | None = None) -> FastAPI:
    upstreams = upstreams or build_upstreams(settings)
    callers = build_callers(settings)
    statuses = tuple(UpstreamStatus(name=p.name, url=p.base_url, state="CLOSED") for p in upstreams.policies)
    limits = settings.limits
    schema = build_schema(max_depth=limits.max_depth, max_aliases=limits.max_aliases, max_tokens=limits.max_tokens)

    def upstream_status() -> tuple[UpstreamStatus, ...]:
        return statuses

    async def context_getter(connection: HTTPConnection) -> GatewayContext:
        try:
            caller = callers.identify(connection.headers.get("authorization"))
        except UnknownCaller:
            raise HTTPException(
                status_code=401, detail="unknown bearer token", headers={"WWW-Authenticate": "Bearer"}
            ) from None
        return GatewayContext(
            loaders=Loaders.build(upstreams), upstreams=upstreams, caller=caller, upstream_status=upstream_status
        )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await upstreams.start()
        tune_gc(settings.runtime)
        try:
            yield
        finally:
            await upstreams.close()

    app = FastAPI(
        title="Mobius Gateway",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.add_middleware(BodySizeLimit, max_body_bytes=limits.max_body_bytes)
    router = MobiusGraphQLRouter(
        schema,
        context_getter=context_getter,
        graphql_ide="graphiql" if settings.server.graphiql else None,
        subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL, GRAPHQL_WS_PROTOCOL),
    )
    app.include_router(router, prefix="/graphql")
    if settings.server.graphiql:
        app.mount(GRAPHIQL_STATIC_PREFIX, StaticFiles(directory=STATIC_DIR), name="graphiql-static")

    @app.get("/health/live")
    async def live() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/health/ready")
    async def ready() -> JSONResponse:
        started = {transport.name: transport.started for transport in upstreams.transports}
        status = "ready" if all(started.values()) else "starting"
        return JSONResponse({"status": status, "upstreams": started}, status_code=200 if status == "ready" else 503)

    app.state.upstreams = upstreams
    app.state.schema = schema
    return app
