"""The app factory: FastAPI + the Strawberry router at /graphql, health, GraphiQL."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import orjson
from cross_web import HTTPException as StrawberryHTTPException
from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from starlette.requests import Request
from strawberry.fastapi import GraphQLRouter
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL, GRAPHQL_WS_PROTOCOL

from clients.upstreams import Upstreams
from mobius.cache_admin import cache_admin_router
from mobius.cache_setup import build_cache, build_response_cache, response_version
from mobius.callers import build_callers
from mobius.context import RequestContexts
from mobius.graphiql import GRAPHIQL_CSP, STATIC_DIR, render_graphiql_page
from mobius.lean_path import LeanGateway, LeanGraphQLPath
from mobius.limits import BodySizeLimit
from mobius.operations import build_operations, health_router
from mobius.redis import check_topology, shared_rate_limit_store
from mobius.runtime import tune_gc
from mobius.settings import ConfigError, Settings
from mobius.upstreams import build_upstreams
from mobius.upstreams_admin import upstreams_admin_router
from resolvers.cache import CacheableDocuments
from schema.context import GatewayContext
from schema.fallbacks import FALLBACKS
from schema.root import LIVE_FIELDS, build_schema

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


def enabled_fallbacks(settings: Settings) -> frozenset[str]:
    unknown = sorted(set(settings.degradation.fallbacks) - set(FALLBACKS))
    if unknown:
        raise ConfigError(f"degradation.fallbacks: no fallback is declared for {unknown}; known: {sorted(FALLBACKS)}")
    return frozenset(settings.degradation.fallbacks)


def create_app(
    settings: Settings,
    *,
    upstreams: Upstreams | None = None,
    clock: Callable[[], float] = time.monotonic,
    cache_clock: Callable[[], float] | None = None,
) -> FastAPI:
    """``clock`` measures request deadlines (pass the same one the upstreams' pipelines use) and
    times the JWKS cache; ``cache_clock`` (wall-clock seconds) judges cache freshness."""
    target = check_topology(settings.redis)
    quota_store = shared_rate_limit_store(target) if upstreams is None else None
    upstreams = upstreams or build_upstreams(settings, rate_limit_store=quota_store)
    cache = build_cache(settings, target, clock=cache_clock)
    engine = cache.engine if cache is not None else None
    callers = build_callers(settings, clock=clock)
    limits = settings.limits
    schema = build_schema(max_depth=limits.max_depth, max_aliases=limits.max_aliases, max_tokens=limits.max_tokens)
    responses = build_response_cache(
        settings, cache, version=response_version(settings, schema.as_str()), clock=cache_clock
    )
    operations = build_operations(settings, target, upstreams, cache, responses)

    contexts = RequestContexts(
        upstreams=upstreams,
        callers=callers,
        deadline=settings.deadline,
        clock=clock,
        fallbacks=enabled_fallbacks(settings),
        engine=engine,
        responses=responses,
        fleet=operations.fleet,
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await upstreams.start()
        if cache is not None:
            await cache.start()
        await callers.start()
        await operations.start()
        tune_gc(settings.runtime)
        try:
            yield
        finally:
            await operations.close()
            await callers.close()
            if cache is not None:
                await cache.close()
            await upstreams.close()
            if quota_store is not None:
                await quota_store.close()

    app = FastAPI(
        title="Mobius Gateway",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    cacheable = CacheableDocuments(schema._schema, live_fields=LIVE_FIELDS, max_tokens=limits.max_tokens)
    lean = LeanGateway(schema=schema, contexts=contexts, cacheable=cacheable)
    app.add_middleware(LeanGraphQLPath, gateway=lean)  # added first: inside the body-size limit
    app.add_middleware(BodySizeLimit, max_body_bytes=limits.max_body_bytes)
    router = MobiusGraphQLRouter(
        schema,
        context_getter=contexts.getter,
        graphql_ide="graphiql" if settings.server.graphiql else None,
        subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL, GRAPHQL_WS_PROTOCOL),
    )
    app.include_router(router, prefix="/graphql")
    app.include_router(cache_admin_router(engine, callers))
    app.include_router(upstreams_admin_router(upstreams, operations.board, callers))
    if settings.server.graphiql:
        app.mount(GRAPHIQL_STATIC_PREFIX, StaticFiles(directory=STATIC_DIR), name="graphiql-static")

    app.include_router(health_router(operations, upstreams, cache))
    app.state.upstreams = upstreams
    app.state.schema = schema
    app.state.cache = cache
    app.state.responses = responses
    app.state.operations = operations
    return app
