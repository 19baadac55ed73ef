"""Profile the dashboard in process: N requests through the gateway's ASGI app, no HTTP server.

The sandbox upstreams run in a child process, so what this process spends is the gateway's alone.
``cold``: cache off, every dashboard makes its 7 upstream calls. ``warm``: the in-process entity
cache on (response cache off), primed by one dashboard, so no upstream I/O at all (its TTLs, and
the L1's, are an hour, so nothing expires during a slow run).

    .venv/bin/python -m bench.profile_dashboard --mode cold -n 200 >/dev/null # CPU and wall ms per dashboard
    .venv/bin/python -m bench.profile_dashboard --mode warm -n 200 --profile >/dev/null # plus a cProfile top list
    valgrind --tool=callgrind --instr-atstart=no .venv/bin/python -m bench.profile_dashboard \
        --mode warm -n 100 --callgrind                                       # instructions
    .venv/bin/python -m bench.profile_dashboard --mode cold -n 300 --latency-ms 20 >/dev/null # one client's wall time
    .venv/bin/python -m bench.profile_dashboard --mode cold -n 1000 --latency-ms 20 --gc-log >/dev/null # its stalls
    .venv/bin/python -m bench.profile_dashboard --mode cold -n 300 --latency-ms 20 --timeline >/dev/null # its path
    .venv/bin/python -m bench.profile_dashboard --mode cold -n 300 --clients 10 --gc-log >/dev/null # ten in flight

``--latency-ms`` makes every upstream answer that much late (the sandbox's latency fault) and adds
the wall time's percentiles per dashboard (50, 90, 99 and the slowest): the lone user's latency,
without an HTTP server, a load generator or a second process competing for the cores.

The request log goes to stdout as in ``mobius serve`` (JSON); results go to stderr, so send stdout
to /dev/null. ``--gc-log`` times every garbage collection during the timed requests and lists the
slowest requests with the collections that ran in them (``bench.stalls``). With ``--callgrind``
collection is switched on (``callgrind_control -i on``) only around the timed requests, so
start-up and warm-up are not counted; divide the reported ``Collected`` by N. ``--clients C``
keeps C dashboards in flight (the warm-up too, so the upstream connection pools are as large as in
the timed part); ``--gc-threshold N`` sets ``runtime.gc_gen0_threshold``.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Awaitable, Callable, MutableMapping
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import orjson
import uvloop

from bench.load import set_latency
from bench.profiling import add_timing_options, sandbox_running, timed
from bench.stalls import GcLog, stall_report
from bench.timeline import Timeline
from mobius.app import create_app
from mobius.demo import (
    DEMO_CALLER_SCOPES,
    DEMO_CALLER_TOKEN,
    demo_settings,
    sandbox_identity_provider,
    sandbox_upstreams,
)
from mobius.logging import configure_logging
from mobius.runtime import tune_gc
from mobius.settings import Settings, load_settings
from resolvers.loaders import declared_cache_types
from sandbox import SandboxUrls
from sandbox.server import DEFAULT_CREDENTIALS

QUERY = (Path(__file__).parent / "queries" / "dashboard.graphql").read_text()
_HOUR_S = 3600.0
BODY = orjson.dumps({"query": QUERY, "variables": {"orgId": "org-1"}})
Message = MutableMapping[str, Any]


def graphql_post_scope(body: bytes, token: str) -> dict[str, Any]:
    """The ASGI scope of ``POST /graphql`` from 127.0.0.1 with ``body`` and ``Bearer token``, as
    uvicorn hands it to the app."""
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/graphql",
        "raw_path": b"/graphql",
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"127.0.0.1"),
            (b"content-type", b"application/json"),
            (b"accept", b"application/graphql-response+json"),
            (b"authorization", f"Bearer {token}".encode()),
            (b"content-length", str(len(body)).encode()),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }


async def _request(app: Callable[..., Awaitable[None]], timeline: Timeline | None = None) -> bytes:
    """One dashboard through ``app``; each response message marked on ``timeline`` when given."""
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": BODY, "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)
        if timeline is not None:
            timeline.mark("response start" if message["type"] == "http.response.start" else "response body")

    await app(graphql_post_scope(BODY, DEMO_CALLER_TOKEN), receive, send)
    status = sent[0]["status"]
    body: bytes = b"".join(message.get("body", b"") for message in sent[1:])
    if status != 200 or b'"errors"' in body:
        raise RuntimeError(f"dashboard failed: {status} {body[:300]!r}")
    return body


async def _clients(
    app: Callable[..., Awaitable[None]],
    n: int,
    clients: int,
    timeline: Timeline,
    requests: list[tuple[float, float]],
    *,
    mark_responses: bool = False,
) -> None:
    """``n`` dashboards sent by ``clients`` at once, each client's one after another; each
    dashboard's start and wall time kept in ``requests``, its response messages marked on
    ``timeline`` if ``mark_responses``. A lone client runs in the calling task
    (in a task of its own a warm dashboard counts 1.6% more instructions under callgrind)."""

    async def client(count: int) -> None:
        for _ in range(count):
            started = time.perf_counter()
            timeline.start()
            await _request(app, timeline if mark_responses else None)
            timeline.end()
            requests.append((started, time.perf_counter() - started))

    if clients == 1:
        await client(n)
    else:
        await asyncio.gather(*(client(n // clients + (1 if i < n % clients else 0)) for i in range(clients)))


def _settings(args: argparse.Namespace, urls: SandboxUrls, cache: dict[str, Any]) -> Settings:
    """The demo's settings; with several clients, no deadline or upstream timeout within the hour:
    under callgrind ten dashboards in flight take some 500 times a lone one's wall time."""
    telemetry = {"metrics": {"enabled": not args.no_metrics}}
    runtime = {} if args.gc_threshold is None else {"gc_gen0_threshold": args.gc_threshold}
    if args.clients == 1:
        return demo_settings(urls, DEFAULT_CREDENTIALS, cache=cache, telemetry=telemetry, runtime=runtime)
    upstreams = sandbox_upstreams(urls, DEFAULT_CREDENTIALS)
    for upstream in upstreams.values():
        upstream["timeouts"] = {"connect_s": _HOUR_S, "read_s": _HOUR_S, "total_s": _HOUR_S}
    callers = [
        {"name": "demo-admin", "token": DEMO_CALLER_TOKEN, "scopes": list(DEMO_CALLER_SCOPES), "user_id": "user-1"}
    ]
    return load_settings(
        upstreams=upstreams,
        callers=callers,
        auth=sandbox_identity_provider(urls),
        cache=cache,
        telemetry=telemetry,
        deadline={"default_s": _HOUR_S},
        runtime=runtime,
    )


async def _main(args: argparse.Namespace, urls: SandboxUrls) -> None:
    if args.latency_ms:
        set_latency(urls, args.latency_ms)
    cache: dict[str, Any] = {"enabled": args.mode == "warm", "response": {"enabled": False}}
    if args.mode == "warm":
        # Nothing expires while measuring: under callgrind the dashboards run some 50 times slower,
        # and entries expiring mid-run would make the counts depend on the machine's speed.
        cache["ttl_s"] = {ctype.name: _HOUR_S for ctype in declared_cache_types()}
        cache["l1"] = {"ttl_s": _HOUR_S}
    settings = _settings(args, urls, cache)
    configure_logging(settings.server.log_format, settings.telemetry.logs)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        await _request(app)  # alone: it primes the cache, and the warm mode's L1
        await _clients(app, args.warmup - 1, args.clients, Timeline(), [])  # as many connections as timed
        tune_gc(settings.runtime)
        requests: list[tuple[float, float]] = []
        log = GcLog()
        timeline = Timeline()
        with (
            log.recording(),
            timeline.recording() if args.timeline else nullcontext(),
            timed(profile=args.profile, with_callgrind=args.callgrind) as run,
        ):
            await _clients(app, args.n, args.clients, timeline, requests, mark_responses=args.timeline)
    print(f"{args.mode}: {args.n} dashboards, {run.summary(args.n, 'dashboard')}", file=sys.stderr)
    if args.timeline:
        print(timeline.summary(), timeline.segments(), sep="\n", file=sys.stderr)
    if args.gc_log:
        print(log.summary(), stall_report(requests, log), sep="\n", file=sys.stderr)
    if args.latency_ms:
        walls = sorted(wall for _, wall in requests)
        p50, p90, p99 = (walls[len(walls) * part // 100] * 1000 for part in (50, 90, 99))
        print(
            f"upstreams {args.latency_ms} ms late: wall p50 {p50:.2f} ms, p90 {p90:.2f} ms, p99 {p99:.2f} ms, "
            f"max {walls[-1] * 1000:.2f} ms",
            file=sys.stderr,
        )
    run.print_profile(args.sort, args.top)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mode", choices=("cold", "warm"), default="cold")
    parser.add_argument("-n", type=int, default=200, help="timed dashboards")
    parser.add_argument("--warmup", type=int, default=20, help="dashboards before timing (the first primes the cache)")
    parser.add_argument("--latency-ms", type=int, default=0, help="every upstream answers this much late")
    parser.add_argument("--clients", type=int, default=1, help="dashboards in flight at once (one loop each)")
    parser.add_argument("--gc-threshold", type=int, default=None, help="runtime.gc_gen0_threshold")
    parser.add_argument("--gc-log", action="store_true", help="time collections; list the slowest requests'")
    parser.add_argument("--timeline", action="store_true", help="each upstream send's and answer's median time")
    add_timing_options(parser)
    args = parser.parse_args()
    if args.timeline and args.clients > 1:
        parser.error("--timeline follows one request at a time: leave --clients at 1")
    with sandbox_running() as urls:
        uvloop.run(_main(args, urls))


if __name__ == "__main__":
    main()
