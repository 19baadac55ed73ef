"""Running the sandbox upstreams: in the current loop, or in a background thread for tests and demos."""

from __future__ import annotations

import asyncio
import gc
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from types import TracebackType

import uvloop
from aiohttp import web

from sandbox.broker import BrokerPublisher, BrokerTarget, attach_broker
from sandbox.credentials import SandboxCredentials
from sandbox.registry import SandboxRegistry, default_registry
from sandbox.upstream import Clock
from sandbox.webhooks import WEBHOOKS_KEY

_SHUTDOWN_TIMEOUT_S = 1.0
DEFAULT_CREDENTIALS = SandboxCredentials()
BROKER_PUBLISHER = "projects"
"""The upstream that publishes its events to a broker when given one."""
Ports = Mapping[str, int]
"""Port per upstream name; an upstream not named gets a free ephemeral port (0)."""


class SandboxUrls(Mapping[str, str]):
    """Base URL of each running upstream, in registry order: `urls.identity`, `urls["ledger"]`, `for name in urls`.

    The projects GraphQL endpoint is `f"{urls.projects}/graphql"`.
    """

    __slots__ = ("_urls",)

    def __init__(self, urls: Mapping[str, str] | None = None, /, **by_name: str) -> None:
        self._urls: dict[str, str] = {**(urls or {}), **by_name}

    def __getitem__(self, name: str) -> str:
        return self._urls[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._urls)

    def __len__(self) -> int:
        return len(self._urls)

    def __getattr__(self, name: str) -> str:
        try:
            return self._urls[name]
        except KeyError:
            raise AttributeError(name) from None

    def __repr__(self) -> str:
        return f"SandboxUrls({self._urls!r})"


def build_apps(
    credentials: SandboxCredentials = DEFAULT_CREDENTIALS,
    *,
    clock: Clock = time.time,
    registry: SandboxRegistry | None = None,
    webhook_target: str | None = None,
    broker: BrokerTarget | None = None,
) -> dict[str, web.Application]:
    """One application per registered upstream, for in-loop use; those that send webhooks send
    them to ``webhook_target`` (a gateway's base URL) when given; with ``broker``, the projects
    upstream also publishes its issue events there.

    Run them with `web.AppRunner(app, handler_cancellation=True)`: the hang and reset faults rely
    on a lost connection cancelling its handler.
    """
    registry = registry or default_registry()
    credentials.check(registry)
    apps = {upstream.name: upstream.create_app(credentials.of(upstream), clock=clock) for upstream in registry}
    for app in apps.values():
        sender = app.get(WEBHOOKS_KEY)
        if sender is not None:
            sender.default_target = sender.target = webhook_target
    if broker is not None and BROKER_PUBLISHER in apps:
        attach_broker(apps[BROKER_PUBLISHER], BrokerPublisher(broker))
    return apps


def _check_ports(ports: Ports, names: tuple[str, ...]) -> None:
    unknown = sorted(set(ports) - set(names))
    if unknown:
        raise ValueError(f"ports for unknown sandbox upstreams {unknown}; there are: {', '.join(names)}")


async def _start(apps: dict[str, web.Application], host: str, ports: Ports) -> tuple[list[web.AppRunner], SandboxUrls]:
    _check_ports(ports, tuple(apps))
    runners: list[web.AppRunner] = []
    urls: dict[str, str] = {}
    try:
        for name, app in apps.items():
            runner = web.AppRunner(
                app,
                handler_cancellation=True,
                shutdown_timeout=_SHUTDOWN_TIMEOUT_S,
                access_log=None,
            )
            await runner.setup()
            runners.append(runner)
            await web.TCPSite(runner, host, ports.get(name, 0)).start()
            bound_host, bound_port = runner.addresses[0][:2]
            urls[name] = f"http://{_url_host(bound_host)}:{bound_port}"
    except BaseException:
        await _cleanup(runners)
        raise
    return runners, SandboxUrls(urls)


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


async def _cleanup(runners: list[web.AppRunner]) -> None:
    for runner in reversed(runners):
        await runner.cleanup()


async def run_sandbox(
    host: str = "127.0.0.1",
    ports: Ports | None = None,
    credentials: SandboxCredentials = DEFAULT_CREDENTIALS,
    *,
    on_ready: Callable[[SandboxUrls], None] | None = None,
    registry: SandboxRegistry | None = None,
    webhook_target: str | None = None,
    broker: BrokerTarget | None = None,
) -> None:
    """Serve every registered upstream in the current loop until cancelled; `on_ready` gets the URLs."""
    apps = build_apps(credentials, registry=registry, webhook_target=webhook_target, broker=broker)
    runners, urls = await _start(apps, host, ports or {})
    try:
        if on_ready is not None:
            on_ready(urls)
        await asyncio.Event().wait()
    finally:
        await _cleanup(runners)


class SandboxServer:
    """Runs every registered upstream on loopback in a background thread with its own event loop."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        ports: Ports | None = None,
        credentials: SandboxCredentials = DEFAULT_CREDENTIALS,
        clock: Clock = time.time,
        registry: SandboxRegistry | None = None,
        webhook_target: str | None = None,
        broker: BrokerTarget | None = None,
        freeze_start_up: bool = False,
    ) -> None:
        """``freeze_start_up``: for a process of its own, move what start-up made (some 100k objects:
        seed data, applications, schemas) out of the collector's reach (``gc.freeze``), as Mobius does
        (``runtime.gc_freeze``); a full collection over them stalled every upstream for 44 ms (idle host) to 350 ms."""
        self._freeze_start_up = freeze_start_up
        self._host = host
        self._webhook_target = webhook_target
        self._broker = broker
        self._ports = ports or {}
        self._credentials = credentials
        self._clock = clock
        self._registry = registry
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runners: list[web.AppRunner] = []
        self.urls: SandboxUrls | None = None

    def start(self) -> SandboxUrls:
        """Bind (port 0 picks a free port) and return once every upstream is listening."""
        if self.urls is not None:
            return self.urls
        apps = build_apps(
            self._credentials,
            clock=self._clock,
            registry=self._registry,
            webhook_target=self._webhook_target,
            broker=self._broker,
        )
        loop = uvloop.new_event_loop()
        thread = threading.Thread(target=loop.run_forever, name="mobius-sandbox", daemon=True)
        thread.start()
        future = asyncio.run_coroutine_threadsafe(_start(apps, self._host, self._ports), loop)
        try:
            self._runners, self.urls = future.result()
        except BaseException:
            _stop_loop(loop, thread)
            raise
        self._loop, self._thread = loop, thread
        if self._freeze_start_up:
            gc.freeze()
        return self.urls

    def stop(self) -> None:
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        asyncio.run_coroutine_threadsafe(_cleanup(self._runners), loop).result()
        _stop_loop(loop, thread)
        self._loop = self._thread = self.urls = None
        self._runners = []

    def __enter__(self) -> SandboxUrls:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def _stop_loop(loop: asyncio.AbstractEventLoop, thread: threading.Thread) -> None:
    loop.call_soon_threadsafe(loop.stop)
    thread.join()
    loop.close()
