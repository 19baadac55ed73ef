"""The app factory: ``/graphql`` (one admission step, one executor entry, in front of FastAPI:
``mobius.asgi``), health, cache admin, GraphiQL's files."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from clients.upstreams import Upstreams
from mobius.admission import Admission, AdmissionRules
from mobius.asgi import GatewayApp
from mobius.cache_admin import cache_admin_router
from mobius.cache_setup import build_cache, build_response_cache, response_version
from mobius.callers import build_callers
from mobius.context import RequestContexts
from mobius.cors import CorsPolicy
from mobius.draining import on_stop_signal
from mobius.endpoint import GraphQLEndpoint
from mobius.events.handlers import EventHandler
from mobius.events.intake import declared_intakes, webhooks_router
from mobius.events.runtime import build_events
from mobius.executor import Executor
from mobius.graphiql import STATIC_DIR
from mobius.limits import BodySizeLimit
from mobius.operations import build_operations, health_router
from mobius.persisted import PersistedDocuments, TrustedDocuments, build_persisted
from mobius.readiness import Readiness, require_readable
from mobius.redis import check_topology, shared_rate_limit_store
from mobius.runtime import tune_gc
from mobius.settings import ConfigError, LimitsSettings, Posture, Settings
from mobius.subscriptions.bus import build_bus
from mobius.subscriptions.publish import PublishEvents
from mobius.telemetry import build_telemetry
from mobius.upstreams import build_upstreams
from mobius.upstreams_admin import upstreams_admin_router
from resolvers.cache import CacheableDocuments
from resolvers.loaders import Reads
from schema.complexity import Complexity, Limits
from schema.documents import document_validation
from schema.fallbacks import FALLBACKS
from schema.operations import Documents
from schema.root import LIVE_FIELDS, MobiusSchema, build_schema
from schema.telemetry import OperationTelemetry

GRAPHIQL_STATIC_PREFIX = "/graphiql/static"


def enabled_fallbacks(settings: Settings) -> frozenset[str]:
    unknown = sorted(set(settings.degradation.fallbacks) - set(FALLBACKS))
    if unknown:
        raise ConfigError(f"degradation.fallbacks: no fallback is declared for {unknown}; known: {sorted(FALLBACKS)}")
    return frozenset(settings.degradation.fallbacks)


def build_documents(schema: MobiusSchema, settings: Settings, posture: Posture, reads: Reads) -> Documents:
    limits = settings.limits
    validation = document_validation(  # the one validation of every document
        schema._schema, introspection=posture.introspection, suggestions=posture.suggestions
    )
    complexity = Complexity(schema._schema, operation_limits(limits), reads.max_batch_size)
    return Documents(validation, max_tokens=limits.max_tokens, complexity=complexity)


def operation_limits(limits: LimitsSettings) -> Limits:
    return Limits(
        max_depth=limits.max_depth,
        max_aliases=limits.max_aliases,
        max_root_fields=limits.max_root_fields,
        max_directives=limits.max_directives,
        max_fields=limits.max_fields,
        max_cost=limits.max_cost,
    )


def admission_rules(settings: Settings, posture: Posture) -> AdmissionRules:
    http = settings.http
    return AdmissionRules(
        max_body_bytes=settings.limits.max_body_bytes,
        graphiql=posture.graphiql,
        csrf_prevention=posture.csrf_prevention,
        csrf_headers=http.csrf_headers,
        batching=http.batching.enabled,
        max_batch=http.batching.max_operations,
        event_stream=settings.subscriptions.enabled,
    )


def build_readiness(settings: Settings, persisted: PersistedDocuments) -> Readiness:
    """What must be readable for the gateway to be ready: its secret files, and a trusted-documents
    manifest when it runs on one."""
    readiness = Readiness(settings)
    if isinstance(persisted, TrustedDocuments):
        readiness.add("graphql.trusted_documents.manifest", persisted.manifest.problem)
    return readiness


def graphql_endpoint(
    settings: Settings,
    posture: Posture,
    *,
    schema: MobiusSchema,
    contexts: RequestContexts,
    documents: Documents,
    persisted: PersistedDocuments,
    operations: OperationTelemetry,
) -> GraphQLEndpoint:
    """``/graphql``: its one admission step and its one executor entry."""
    admission = Admission(
        rules=admission_rules(settings, posture),
        contexts=contexts,
        documents=documents,
        persisted=persisted,
        cors=CorsPolicy.of(settings.http.cors, deadline_header=settings.deadline.header),
    )
    cacheable = CacheableDocuments(schema._schema, live_fields=LIVE_FIELDS, max_tokens=settings.limits.max_tokens)
    executor = Executor(
        schema=schema, contexts=contexts, cacheable=cacheable, suggestions=posture.suggestions, operations=operations
    )
    return GraphQLEndpoint(
        admission=admission,
        executor=executor,
        schema=schema,
        contexts=contexts,
        static_prefix=GRAPHIQL_STATIC_PREFIX,
        subscriptions=settings.subscriptions,
    )


def create_app(  # noqa: PLR0915  # the app factory wires every part, once, in one place
    settings: Settings,
    *,
    upstreams: Upstreams | None = None,
    clock: Callable[[], float] = time.monotonic,
    cache_clock: Callable[[], float] | None = None,
    event_handlers: Sequence[EventHandler] = (),
) -> GatewayApp:
    """``clock`` measures request deadlines (pass the same one the upstreams' pipelines use) and
    times the JWKS cache; ``cache_clock`` (wall-clock seconds) judges cache freshness;
    ``event_handlers`` run on every event after the built-in cache invalidation."""
    telemetry = build_telemetry(settings.telemetry)
    require_readable(settings)
    posture = Posture.of(settings)
    target = check_topology(settings.redis)
    quota_store = shared_rate_limit_store(target) if upstreams is None else None
    upstreams = upstreams or build_upstreams(settings, rate_limit_store=quota_store)
    reads = Reads(upstreams)
    cache = build_cache(settings, reads.cache_types, target, clock=cache_clock)
    engine = cache.engine if cache is not None else None
    callers = build_callers(settings, clock=clock)
    schema = build_schema(planned=settings.execution.planned, operations=telemetry.operations)
    responses = build_response_cache(
        settings, cache, version=response_version(settings, schema.as_str()), clock=cache_clock
    )
    documents = build_documents(schema, settings, posture, reads)
    schema.use_documents(documents)
    persisted = build_persisted(settings.graphql, cache.store if cache is not None else None)
    readiness = build_readiness(settings, persisted)
    operations = build_operations(settings, target, upstreams, cache, responses)
    bus = build_bus(settings.subscriptions, target) if settings.subscriptions.enabled else None
    built_in = (PublishEvents(bus),) if bus is not None else ()  # after the cache invalidation, before the caller's
    events = build_events(settings, target, engine, (*built_in, *event_handlers))

    contexts = RequestContexts(
        upstreams=upstreams,
        reads=reads,
        callers=callers,
        deadline=settings.deadline,
        clock=clock,
        fallbacks=enabled_fallbacks(settings),
        engine=engine,
        responses=responses,
        fleet=operations.fleet,
        events=bus,
    )

    endpoint = graphql_endpoint(
        settings,
        posture,
        schema=schema,
        contexts=contexts,
        documents=documents,
        persisted=persisted,
        operations=telemetry.operations,
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        telemetry.start()
        readiness.log_problems()
        await upstreams.start()
        if cache is not None:
            await cache.start()
        await callers.start()
        await operations.start()
        if bus is not None:
            await bus.start()
        await events.start()
        tune_gc(settings.runtime)
        loop = asyncio.get_running_loop()

        def end_streams() -> None:
            # a second SIGINT makes uvicorn skip this shutdown: the loop may be closed by then
            if not loop.is_closed():
                loop.call_soon_threadsafe(endpoint.streams.close)

        try:
            # uvicorn waits for open requests on SIGTERM: its open event streams end first
            with on_stop_signal(end_streams):
                yield
        finally:
            await events.close()
            if bus is not None:
                await bus.close()
            await operations.close()
            await callers.close()
            if cache is not None:
                await cache.close()
            await upstreams.close()
            if quota_store is not None:
                await quota_store.close()
            telemetry.stop()

    app = GatewayApp(
        title="Mobius Gateway",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.add_middleware(BodySizeLimit, max_body_bytes=settings.limits.max_body_bytes)  # the other routes' bodies
    app.graphql = telemetry.observe(endpoint, paths={app.graphql_path: app.graphql_path})
    # added last: outside everything else
    telemetry.mount(app, paths={"/webhooks/": "/webhooks/{upstream}"})
    app.include_router(cache_admin_router(engine, callers))
    app.include_router(upstreams_admin_router(upstreams, operations.board, callers))
    app.include_router(webhooks_router(declared_intakes(settings), events.stream, settings.events))
    if posture.graphiql:
        app.mount(GRAPHIQL_STATIC_PREFIX, StaticFiles(directory=STATIC_DIR), name="graphiql-static")

    app.include_router(health_router(operations, upstreams, cache, readiness))
    app.state.upstreams = upstreams
    app.state.schema = schema
    app.state.cache = cache
    app.state.responses = responses
    app.state.operations = operations
    app.state.events = events
    app.state.bus = bus
    app.state.streams = endpoint.streams
    return app
