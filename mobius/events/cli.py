"""``mobius worker`` (the stream's worker as its own process) and ``mobius events dlq list|replay|drop``."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

from mobius.settings import ConfigError, Settings, load_settings

HandlerFactory = Callable[[Settings], Any]


def _durable_target(settings: Settings) -> Any:
    from mobius.redis import check_topology

    target = check_topology(settings.redis)
    if target is None:
        raise ConfigError(
            "redis.url is not configured: without Redis the event stream lives inside each gateway process "
            "(demo and serve run its worker themselves)"
        )
    return target


def _handler_factory(spec: str) -> HandlerFactory:
    """``module:attribute``: a callable taking the settings and returning an ``EventHandler``."""
    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute:
        raise ConfigError(f"--handler {spec!r}: expected module:attribute")
    try:
        factory = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"--handler {spec!r}: {exc}") from None
    return cast(HandlerFactory, factory)


def cmd_worker(args: argparse.Namespace) -> int:
    from mobius.cache_setup import build_cache, configured_cache_types
    from mobius.events.runtime import build_events
    from mobius.events.worker import Worker
    from mobius.logging import configure_logging
    from mobius.subscriptions.bus import build_bus
    from mobius.subscriptions.publish import PublishEvents

    settings = load_settings(args.config)
    configure_logging(settings.server.log_format, settings.telemetry.logs)
    target = _durable_target(settings)
    factories = [_handler_factory(spec) for spec in args.handlers]

    async def run() -> None:
        cache = build_cache(settings, configured_cache_types(settings), target)
        bus = build_bus(settings.subscriptions, target) if settings.subscriptions.enabled else None
        built_in = [PublishEvents(bus)] if bus is not None else []  # publishes only: no subscriber listens here
        events = build_events(
            settings,
            target,
            cache.engine if cache is not None else None,
            [*built_in, *(factory(settings) for factory in factories)],
            worker=False,
        )
        if cache is not None:
            await cache.start()
        await events.start()
        events.start_sources()
        worker = Worker(events.stream, events.handlers, events.policy, consumer=args.consumer)
        task = asyncio.current_task()
        assert task is not None
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, task.cancel)
        print(f"mobius worker {worker.consumer}: consuming the event stream", flush=True)
        try:
            await worker.run()
        finally:
            await events.close()
            if bus is not None:
                await bus.close()
            if cache is not None:
                await cache.close()

    with contextlib.suppress(asyncio.CancelledError, KeyboardInterrupt):
        asyncio.run(run())
    return 0


def cmd_dlq(args: argparse.Namespace) -> int:
    from redis.exceptions import RedisError

    from mobius.events.codec import decode
    from mobius.events.runtime import build_stream

    settings = load_settings(args.config)
    stream = build_stream(settings.events, _durable_target(settings))

    async def run() -> list[str]:
        try:
            letters = await stream.dead_letters(count=args.limit)
            if args.dlq_command == "list":
                lines = []
                for letter in letters:
                    try:
                        event = decode(letter.payload)
                        entity = f"{event.entity_type}:{event.entity_id}"
                        what = f"{event.source} {event.type} {entity} v{event.version} id={event.id}"
                    except ValueError:
                        what = "(undecodable)"
                    lines.append(f"{letter.entry_id}  deliveries={letter.deliveries}  {what}  reason: {letter.reason}")
                return lines or ["the dead-letter stream is empty"]
            chosen = [letter.entry_id for letter in letters] if args.all else list(args.ids)
            if args.dlq_command == "replay":
                return [f"replayed {await stream.replay_dead(chosen)} of {len(chosen)} into the stream"]
            return [f"dropped {await stream.drop_dead(chosen)} of {len(chosen)}"]
        finally:
            await stream.close()

    try:
        lines = asyncio.run(run())
    except RedisError as exc:
        print(f"mobius: cannot reach Redis ({type(exc).__name__}); nothing was changed", file=sys.stderr)
        return 1
    print("\n".join(lines))
    return 0


def add_event_commands(commands: Any) -> None:
    """Registers ``worker`` and ``events`` on the ``mobius`` command's subparsers."""
    worker = commands.add_parser("worker", help="consume the event stream (on the configured Redis)")
    worker.add_argument("--config", type=Path, default=None, help="YAML file; MOBIUS_* variables override it")
    worker.add_argument(
        "--handler",
        dest="handlers",
        action="append",
        default=[],
        metavar="MODULE:FACTORY",
        help="also run the EventHandler FACTORY(settings) builds, after the cache invalidation (repeatable)",
    )
    worker.add_argument(
        "--consumer",
        default=None,
        metavar="NAME",
        help="a stable consumer name (e.g. the pod's): restarted, it first finishes its own unacknowledged entries",
    )
    worker.set_defaults(handler=cmd_worker)

    events = commands.add_parser("events", help="event stream tools (on the configured Redis)")
    events_commands = events.add_subparsers(dest="events_command", required=True)
    dlq = events_commands.add_parser("dlq", help="the dead-letter stream")
    dlq_commands = dlq.add_subparsers(dest="dlq_command", required=True)
    for action, what in (
        ("list", "show dead letters, oldest first"),
        ("replay", "move dead letters back into the stream"),
        ("drop", "delete dead letters"),
    ):
        command = dlq_commands.add_parser(action, help=what)
        command.add_argument("--config", type=Path, default=None, help="YAML file; MOBIUS_* variables override it")
        command.add_argument("--limit", type=int, default=100, help="at most this many (default 100)")
        if action != "list":
            command.add_argument("ids", nargs="*", help="dead-letter entry ids (as `list` shows them)")
            command.add_argument("--all", action="store_true", help="every dead letter (up to --limit)")
        command.set_defaults(handler=cmd_dlq)
