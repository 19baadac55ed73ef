"""The `mobius` command: demo, serve, sandbox, schema print, cache invalidate,
upstreams force-open|force-close|release, worker, events dlq list|replay|drop."""

from __future__ import annotations

import argparse
import contextlib
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

from mobius.events.cli import add_event_commands
from mobius.settings import ConfigError, Settings, load_settings

LEGACY_PORT_FLAGS = ("identity", "billing", "projects")
"""Upstreams that keep their own `--<name>-port` flag; every upstream takes `--port NAME=PORT`."""


def _run_gateway(settings: Settings) -> None:
    import uvicorn

    from mobius.app import create_app
    from mobius.logging import configure_logging
    from mobius.serving import uvicorn_options

    configure_logging(settings.server.log_format, settings.telemetry.logs)
    config = uvicorn.Config(create_app(settings), **uvicorn_options(settings))
    uvicorn.Server(config).run()


def cmd_demo(args: argparse.Namespace) -> int:
    from mobius.demo import DEMO_CALLER_TOKEN, demo_settings, token_command
    from sandbox import SandboxCredentials, SandboxServer

    credentials = SandboxCredentials()
    webhook_target = f"http://{args.host}:{args.port}"  # the sandbox's changes reach this gateway as webhooks
    with SandboxServer(host=args.host, credentials=credentials, webhook_target=webhook_target) as urls:
        settings = demo_settings(
            urls, credentials, server={"host": args.host, "port": args.port, "log_format": "console"}
        )
        base = f"http://{args.host}:{args.port}"
        print("Mobius demo: sandbox upstreams " + " ".join(f"{name}={url}" for name, url in urls.items()))
        print(f"GraphiQL: {base}/graphql")
        print(f"A caller token (a JWT with every scope) from the sandbox identity provider:\n  {token_command(urls)}")
        print('then send it as {"Authorization": "Bearer <access_token>"} (GraphiQL: the Headers tab);')
        print(f'or use the demo caller: {{"Authorization": "Bearer {DEMO_CALLER_TOKEN}"}}. Writes and PII need one.')
        sys.stdout.flush()
        _run_gateway(settings)
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from mobius.readiness import require_readable

    overrides: dict[str, dict[str, object]] = {}
    if args.host or args.port is not None:
        server: dict[str, object] = {}
        if args.host:
            server["host"] = args.host
        if args.port is not None:
            server["port"] = args.port
        overrides["server"] = server
    settings = load_settings(args.config, **overrides)
    if settings.environment == "production":
        _refuse_inline_secrets(settings)
    require_readable(settings)
    print(f"Mobius gateway on http://{settings.server.host}:{settings.server.port}/graphql")
    sys.stdout.flush()
    if args.workers > 1:
        from mobius.redis import check_topology
        from mobius.serving import run_workers

        check_topology(settings.redis)  # refuse a Redis that cannot work before starting any worker

        run_workers(settings, config=args.config, overrides=overrides, workers=args.workers)
    else:
        _run_gateway(settings)
    return 0


def _refuse_inline_secrets(settings: Settings) -> None:
    """In production every credential must come from the environment or a mounted file."""
    dumped = settings.model_dump()
    inline = [path for path, ref in _secret_refs(dumped, "") if ref.get("value") is not None]
    if inline:
        raise ConfigError("production refuses secrets written in the config file: " + ", ".join(inline))


def _secret_refs(node: object, path: str) -> list[tuple[str, dict[str, object]]]:
    found: list[tuple[str, dict[str, object]]] = []
    if isinstance(node, dict):
        if set(node) == {"value", "env", "file"}:
            return [(path, node)]
        for key, value in node.items():
            found += _secret_refs(value, f"{path}.{key}" if path else str(key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _secret_refs(value, f"{path}[{index}]")
    return found


def cmd_sandbox(args: argparse.Namespace) -> int:
    from sandbox import SandboxCredentials, SandboxServer, default_registry
    from sandbox.billing import BillingCredentials
    from sandbox.broker import BrokerTarget

    registry = default_registry()
    ports = {upstream.name: upstream.default_port for upstream in registry} | _sandbox_ports(args, registry.names())
    credentials = SandboxCredentials(billing=BillingCredentials(signature_required=not args.unsigned_billing))
    broker = BrokerTarget(url=args.broker_url, exchange=args.broker_exchange) if args.broker_url else None
    with SandboxServer(
        host=args.host,
        ports=ports,
        credentials=credentials,
        webhook_target=args.webhook_target,
        broker=broker,
        freeze_start_up=True,
    ) as urls:
        width = max(map(len, urls))
        for upstream in registry:
            print(f"{upstream.name:<{width}}  {urls[upstream.name]}  {upstream.summary}")
        print("admin: GET /_sandbox/stats, POST /_sandbox/reset, POST /_sandbox/faults on each; Ctrl-C stops")
        if args.webhook_target:
            print(f"webhooks: signed changes go to {args.webhook_target}/webhooks/<upstream> (GET /_sandbox/webhooks)")
        if broker is not None:
            print(f"broker: projects publishes issue events to exchange {broker.exchange} (GET /_sandbox/broker)")
        sys.stdout.flush()
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()
    return 0


def _sandbox_ports(args: argparse.Namespace, names: Sequence[str]) -> dict[str, int]:
    """The ports asked for by `--port NAME=PORT` and the legacy `--<name>-port` flags."""
    given: dict[str, int] = {}
    legacy = [(name, getattr(args, f"{name}_port")) for name in LEGACY_PORT_FLAGS]
    for name, port in [*((n, p) for n, p in legacy if p is not None), *args.port]:
        if name not in names:
            raise ConfigError(f"--port {name}=...: no sandbox upstream {name!r} (there are: {', '.join(names)})")
        if name in given and given[name] != port:
            raise ConfigError(f"two ports for sandbox upstream {name!r}: {given[name]} and {port}")
        given[name] = port
    return given


def _name_port(text: str) -> tuple[str, int]:
    """`NAME=PORT` for `--port` (PORT 0 picks a free port)."""
    name, sep, port = text.partition("=")
    if not sep or not name or not (port.isascii() and port.isdigit()) or len(port) > 5 or int(port) > 65535:
        raise argparse.ArgumentTypeError(f"expected NAME=PORT with PORT from 0 to 65535, got {text!r}")
    return name, int(port)


def cmd_schema_print(_: argparse.Namespace) -> int:
    from schema.root import build_schema

    print(build_schema().as_str())
    return 0


def cmd_cache_invalidate(args: argparse.Namespace) -> int:
    import asyncio

    from mobius.cache_setup import build_cache, configured_cache_types
    from mobius.redis import check_topology
    from resolvers.cache import CacheUnavailable, InvalidationRequest, invalidate

    settings = load_settings(args.config)
    target = check_topology(settings.redis)
    if target is None:
        raise ConfigError(
            "no shared cache: redis.url is not configured, so the cache lives inside each gateway process "
            "(use POST /admin/cache/invalidate on it)"
        )
    runtime = build_cache(settings, configured_cache_types(settings), target)
    if runtime is None:
        raise ConfigError("the cache is disabled (cache.enabled: false)")
    request = InvalidationRequest(entities=args.entity, tags=args.tag, all=args.all)

    async def run() -> int:
        try:
            return await invalidate(runtime.engine, request)
        finally:
            await runtime.close()

    try:
        deleted = asyncio.run(run())
    except ValueError as exc:
        print(f"mobius: {exc}", file=sys.stderr)
        return 2
    except CacheUnavailable as exc:
        print(f"mobius: cannot reach the cache's Redis ({exc}); nothing was invalidated", file=sys.stderr)
        return 1
    print(f"deleted {deleted} cache entries; other replicas evict theirs")
    return 0


def cmd_upstreams_force(args: argparse.Namespace) -> int:
    import asyncio
    import getpass
    import socket

    import structlog

    from clients.resilience.breaker_board import BoardUnavailable, RedisBreakerBoard
    from mobius.redis import check_topology, create_redis
    from mobius.upstreams_admin import FORCED_STATES

    settings = load_settings(args.config)
    known = [name for name, _ in settings.upstreams]
    if args.name not in known:
        raise ConfigError(f"no upstream named {args.name!r}; known: {', '.join(known)}")
    target = check_topology(settings.redis)
    if target is None:
        raise ConfigError(
            "redis.url is not configured: each gateway process holds its own breakers "
            f"(use POST /admin/upstreams/{args.name}/{args.action} on it)"
        )
    by = args.by or f"{getpass.getuser()}@{socket.gethostname()} (cli)"
    state = FORCED_STATES[args.action]

    async def run() -> None:
        board = RedisBreakerBoard(create_redis(target), None, prefix=settings.redis.key_prefix, instance=by)
        try:
            await board.force(args.name, state, by=by)
        finally:
            await board.stop()

    structlog.get_logger("mobius.audit").warning(
        "upstream_force_requested", upstream=args.name, action=args.action, by=by
    )
    try:
        asyncio.run(run())
    except BoardUnavailable as exc:
        print(f"mobius: cannot reach Redis ({exc}); nothing was forced", file=sys.stderr)
        return 1
    done = "released" if state is None else f"forced {state.value}"
    print(f"{args.name}: {done} for every gateway process on this Redis (by {by})")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mobius", description="Mobius Gateway")
    commands = parser.add_subparsers(dest="command", required=True)

    demo = commands.add_parser("demo", help="sandbox upstreams + gateway + GraphiQL, no services needed")
    demo.add_argument("--host", default="127.0.0.1")
    demo.add_argument("--port", type=int, default=8000)
    demo.set_defaults(handler=cmd_demo)

    serve = commands.add_parser("serve", help="run the gateway against configured upstreams")
    serve.add_argument("--config", type=Path, default=None, help="YAML file; MOBIUS_* variables override it")
    serve.add_argument("--host", default=None)
    serve.add_argument("--port", type=int, default=None)
    serve.add_argument("--workers", type=int, default=1, help="worker processes sharing the port (default 1)")
    serve.set_defaults(handler=cmd_serve)

    sandbox = commands.add_parser("sandbox", help="run only the sandbox upstreams (each on its default port)")
    sandbox.add_argument("--host", default="127.0.0.1")
    sandbox.add_argument(
        "--port",
        type=_name_port,
        action="append",
        default=[],
        metavar="NAME=PORT",
        help="serve upstream NAME on PORT (0 picks a free port); repeatable",
    )
    for name in LEGACY_PORT_FLAGS:
        sandbox.add_argument(
            f"--{name}-port", type=int, default=None, metavar="PORT", help=f"same as --port {name}=PORT"
        )
    sandbox.add_argument(
        "--unsigned-billing",
        action="store_true",
        help="billing also accepts requests without an HMAC signature (for benchmark peers that cannot sign)",
    )
    sandbox.add_argument(
        "--webhook-target",
        default=None,
        metavar="URL",
        help="a gateway's base URL: billing, projects, support and identity POST signed webhooks of changes to it",
    )
    sandbox.add_argument(
        "--broker-url", default=None, metavar="AMQP_URL", help="projects also publishes its issue events to RabbitMQ"
    )
    sandbox.add_argument(
        "--broker-exchange", default="projects.events", metavar="NAME", help="the topic exchange (projects.issue.*)"
    )
    sandbox.set_defaults(handler=cmd_sandbox)

    schema = commands.add_parser("schema", help="schema tools")
    schema_commands = schema.add_subparsers(dest="schema_command", required=True)
    schema_print = schema_commands.add_parser("print", help="print the SDL (a Federation v2 subgraph)")
    schema_print.set_defaults(handler=cmd_schema_print)

    cache = commands.add_parser("cache", help="cache tools (on the configured Redis)")
    cache_commands = cache.add_subparsers(dest="cache_command", required=True)
    invalidate = cache_commands.add_parser("invalidate", help="drop entities and tags from the shared cache")
    invalidate.add_argument("--config", type=Path, default=None, help="YAML file; MOBIUS_* variables override it")
    invalidate.add_argument("--entity", action="append", default=[], help="e.g. User:u-42 (repeatable)")
    invalidate.add_argument("--tag", action="append", default=[], help="e.g. org:org-1 (repeatable)")
    invalidate.add_argument("--all", action="store_true", help="every entry under redis.key_prefix")
    invalidate.set_defaults(handler=cmd_cache_invalidate)

    upstreams = commands.add_parser("upstreams", help="operate upstreams' circuit breakers (on the configured Redis)")
    upstream_commands = upstreams.add_subparsers(dest="upstreams_command", required=True)
    for action, what in (
        ("force-open", "hold the upstream's breaker open on every gateway process"),
        ("force-close", "hold the upstream's breaker closed on every gateway process"),
        ("release", "let the upstream's breaker judge outcomes again"),
    ):
        command = upstream_commands.add_parser(action, help=what)
        command.add_argument("name", help="the upstream, e.g. billing")
        command.add_argument("--config", type=Path, default=None, help="YAML file; MOBIUS_* variables override it")
        command.add_argument("--by", default=None, help="who does it, for the audit log (default: user@host)")
        command.set_defaults(handler=cmd_upstreams_force, action=action)
    add_event_commands(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code: int = args.handler(args)
    except ConfigError as exc:
        print(f"mobius: {exc}", file=sys.stderr)
        return 2
    return code


if __name__ == "__main__":
    raise SystemExit(main())
