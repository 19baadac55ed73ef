"""A tiny FastAPI app serving the self-hosted GraphiQL the way the gateway does."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field

import pytest
import strawberry
import uvicorn
from fastapi import FastAPI, Request, Response
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from harness import free_port
from strawberry.fastapi import GraphQLRouter

from mobius.graphiql import GRAPHIQL_CSP, STATIC_DIR, render_graphiql_page

STATIC_PREFIX = "/graphiql/static"
CSP_REPORT_PATH = "/csp-report"


@strawberry.type
class Query:
    @strawberry.field
    def hello(self) -> str:
        return "world"


@strawberry.type
class Subscription:
    @strawberry.subscription
    async def ticks(self, count: int = 3) -> AsyncIterator[int]:
        for i in range(count):
            yield i


class MobiusGraphQLRouter(GraphQLRouter[None, None]):
    """What the gateway does: Strawberry's router, our IDE page and CSP."""

    async def render_graphql_ide(self, request: Request) -> HTMLResponse:
        return HTMLResponse(
            render_graphiql_page(static_prefix=STATIC_PREFIX),
            headers={"Content-Security-Policy": GRAPHIQL_CSP},
        )


@dataclass
class Recorder:
    """What the browser did on the server: requests and CSP violation reports."""

    requests: list[tuple[str, str]] = field(default_factory=list)
    graphql_bodies: list[str] = field(default_factory=list)
    graphql_headers: list[dict[str, str]] = field(default_factory=list)
    csp_reports: list[object] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def clear(self) -> None:
        with self.lock:
            self.requests.clear()
            self.graphql_bodies.clear()
            self.graphql_headers.clear()
            self.csp_reports.clear()


def make_app(recorder: Recorder, *, report_csp: bool = False) -> FastAPI:
    schema = strawberry.Schema(query=Query, subscription=Subscription)
    router = MobiusGraphQLRouter(schema)
    if report_csp:
        # Same policy plus a report-uri, so violations reach the test.
        csp = f"{GRAPHIQL_CSP}; report-uri {CSP_REPORT_PATH}"

        async def render_reporting(request: Request) -> HTMLResponse:
            return HTMLResponse(
                render_graphiql_page(static_prefix=STATIC_PREFIX),
                headers={"Content-Security-Policy": csp},
            )

        router.render_graphql_ide = render_reporting  # type: ignore[method-assign]

    app = FastAPI()
    app.include_router(router, prefix="/graphql")
    app.mount(STATIC_PREFIX, StaticFiles(directory=STATIC_DIR), name="graphiql-static")

    @app.post(CSP_REPORT_PATH)
    async def csp_report(request: Request) -> Response:
        body = await request.body()
        try:
            report: object = json.loads(body)
        except ValueError:
            report = body.decode("utf-8", "replace")
        with recorder.lock:
            recorder.csp_reports.append(report)
        return Response(status_code=204)

    @app.middleware("http")
    async def record(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        body = await request.body() if request.url.path == "/graphql" else b""
        with recorder.lock:
            recorder.requests.append((request.method, request.url.path))
            if body:
                recorder.graphql_bodies.append(body.decode("utf-8", "replace"))
                recorder.graphql_headers.append(dict(request.headers))
        return await call_next(request)

    return app


@dataclass
class LiveServer:
    base_url: str
    recorder: Recorder


@pytest.fixture(scope="module")
def live_server() -> Iterator[LiveServer]:
    """uvicorn on 127.0.0.1 (random free port) in a thread."""
    recorder = Recorder()
    port = free_port()
    config = uvicorn.Config(
        make_app(recorder, report_csp=True),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        lifespan="off",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="graphiql-test-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    try:
        yield LiveServer(base_url=f"http://127.0.0.1:{port}", recorder=recorder)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
