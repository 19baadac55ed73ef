"""The running event path of one process (``app.state.events``): the stream, its handlers and,
unless ``events.worker`` is false, the worker consuming it."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence

import structlog
from redis.exceptions import RedisError

from clients.declaration import Touched
from clients.registry import registry
from mobius.events.handlers import EventHandler
from mobius.events.invalidation import CacheInvalidation, Touches
from mobius.events.model import Event
from mobius.events.sources.base import EventSource
from mobius.events.sources.configured import configured_sources
from mobius.events.stream import EventStream, MemoryEventStream, RedisEventStream
from mobius.events.worker import Worker, WorkerPolicy
from mobius.redis import RedisTarget, create_blocking_client
from mobius.settings import EventsSettings, Settings
from resolvers.cache import CacheEngine

log = structlog.get_logger("mobius.events")

_READ_MARGIN_S = 2.0


def declared_touches(settings: Settings) -> Touches:
    """What an event invalidates, by its source: the webhook declaration of the vendor configured
    for that upstream; nothing for a source without one."""
    declared = registry()
    by_source = {}
    for name, section in settings.upstreams.items():
        upstream = declared.upstream(name)
        assert upstream is not None
        webhook = declared.vendor(upstream, section.vendor).webhook
        if webhook is not None:
            by_source[name] = webhook.touches

    def touches(event: Event) -> Touched:
        found = by_source.get(event.source)
        return Touched() if found is None else found(event)

    return touches


def worker_policy(settings: EventsSettings) -> WorkerPolicy:
    return WorkerPolicy(
        batch=settings.batch,
        block_s=settings.block_s,
        claim_idle_s=settings.claim_idle_s,
        max_deliveries=settings.max_deliveries,
    )


def build_stream(settings: EventsSettings, target: RedisTarget | None) -> EventStream:
    """On Redis when one is configured (durable, shared by replicas); else in this process."""
    if target is None:
        return MemoryEventStream(replay_ttl_s=settings.replay_ttl_s, version_ttl_s=settings.version_ttl_s)
    client = create_blocking_client(target, read_timeout_s=settings.block_s + _READ_MARGIN_S)
    return RedisEventStream(
        client,
        prefix=target.settings.key_prefix,
        replay_ttl_s=settings.replay_ttl_s,
        version_ttl_s=settings.version_ttl_s,
    )


def _op_timeout_s(target: RedisTarget) -> float:
    """As long as one of the cache's or the fleet's Redis commands may take."""
    return target.settings.connect_timeout_s + target.settings.socket_timeout_s


class Events:
    """``stream`` is the ``EventSink`` sources append to; ``handlers`` may be appended to until
    ``start``: the worker applies them in order."""

    def __init__(
        self,
        stream: EventStream,
        handlers: Sequence[EventHandler],
        policy: WorkerPolicy,
        *,
        worker: bool,
        sources: Sequence[EventSource] = (),
        start_timeout_s: float | None = None,
    ) -> None:
        """``start_timeout_s`` bounds the stream's start (one command on Redis): a Redis that does
        not answer holds the process's start-up no longer than its other stores' commands do."""
        self.stream = stream
        self.start_timeout_s = start_timeout_s
        self.sources = tuple(sources)
        """Broker consumers feeding the stream; they run while the worker does."""
        self.handlers: list[EventHandler] = list(handlers)
        self.policy = policy
        self.run_worker = worker
        self.worker: Worker | None = None
        self._task: asyncio.Task[None] | None = None
        self._source_tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        try:
            async with asyncio.timeout(self.start_timeout_s):
                await self.stream.start()
        except (RedisError, OSError, TimeoutError) as exc:  # the worker makes the group once Redis answers
            log.warning("events_stream_unavailable_at_start", error=type(exc).__name__)
        if self.run_worker:
            self.worker = Worker(self.stream, self.handlers, self.policy)
            self._task = asyncio.create_task(self.worker.run(), name="events-worker")
            self.start_sources()

    def start_sources(self) -> None:
        """Run the broker consumers (``start`` does when it runs the worker; ``mobius worker`` calls
        this itself, as it runs its worker in the foreground)."""
        if not self._source_tasks:
            self._source_tasks = [
                asyncio.create_task(source.run(self.stream), name=f"events-source-{source.name}")
                for source in self.sources
            ]

    async def close(self) -> None:
        for task in self._source_tasks:
            task.cancel()
        for task in self._source_tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._source_tasks = []
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self.stream.close()


def build_events(
    settings: Settings,
    target: RedisTarget | None,
    engine: CacheEngine | None,
    handlers: Sequence[EventHandler] = (),
    *,
    worker: bool | None = None,
) -> Events:
    """The stream, the built-in cache invalidation followed by ``handlers``, and (by
    ``events.worker`` unless ``worker`` says otherwise) an in-process worker."""
    events = settings.events
    invalidation = CacheInvalidation(engine, declared_touches(settings))
    return Events(
        build_stream(events, target),
        [invalidation, *handlers],
        worker_policy(events),
        worker=events.worker if worker is None else worker,
        sources=configured_sources(settings),
        start_timeout_s=None if target is None else _op_timeout_s(target),
    )
