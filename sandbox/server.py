"""Running the three upstreams: in the current loop, or in a background thread for tests and demos."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType

import uvloop
from aiohttp import web

from sandbox.billing import create_billing_app
from sandbox.credentials import SandboxCredentials
from sandbox.identity import create_identity_app
from sandbox.projects import create_projects_app
from sandbox.upstream import Clock

UPSTREAMS = ("identity", "billing", "projects")
_SHUTDOWN_TIMEOUT_S = 1.0
DEFAULT_CREDENTIALS = SandboxCredentials()


@dataclass(frozen=True)
class SandboxUrls:
    identity: str
    billing: str
    projects: str
    """Base URL; the GraphQL endpoint is `f"{projects}/graphql"`."""


def build_apps(
    credentials: SandboxCredentials = DEFAULT_CREDENTIALS, *, clock: Clock = time.time
) -> dict[str, web.Application]:
    """The three applications, for in-loop use.

    Run them with `web.AppRunner(app, handler_cancellation=True)`: the hang and reset faults rely
    on a lost connection cancelling its handler.
    """
    return {
        "identity": create_identity_app(credentials, clock=clock),
        "billing": create_billing_app(credentials, clock=clock),
        "projects": create_projects_app(credentials, clock=clock),
    }


async def _start(
    apps: dict[str, web.Application], host: str, ports: tuple[int, int, int]
) -> tuple[list[web.AppRunner], SandboxUrls]:
    runners: list[web.AppRunner] = []
    urls: dict[str, str] = {}
    try:
        for name, port in zip(UPSTREAMS, ports, strict=True):
            runner = web.AppRunner(
                apps[name],
                handler_cancellation=True,
                shutdown_timeout=_SHUTDOWN_TIMEOUT_S,
                access_log=None,
            )
            await runner.setup()
            runners.append(runner)
            await web.TCPSite(runner, host, port).start()
            bound_host, bound_port = runner.addresses[0][:2]
            urls[name] = f"http://{_url_host(bound_host)}:{bound_port}"
    except BaseException:
        await _cleanup(runners)
        raise
    return runners, SandboxUrls(**urls)


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


async def _cleanup(runners: list[web.AppRunner]) -> None:
    for runner in reversed(runners):
        await runner.cleanup()


async def run_sandbox(
    host: str = "127.0.0.1",
    ports: tuple[int, int, int] = (0, 0, 0),
    credentials: SandboxCredentials = DEFAULT_CREDENTIALS,
    *,
    on_ready: Callable[[SandboxUrls], None] | None = None,
) -> None:
    """Serve the three upstreams in the current loop until cancelled; `on_ready` gets the URLs."""
    runners, urls = await _start(build_apps(credentials), host, ports)
    try:
        if on_ready is not None:
            on_ready(urls)
        await asyncio.Event().wait()
    finally:
        await _cleanup(runners)


class SandboxServer:
    """Runs the three upstreams on loopback in a background thread with its own event loop."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        ports: tuple[int, int, int] = (0, 0, 0),
        credentials: SandboxCredentials = DEFAULT_CREDENTIALS,
        clock: Clock = time.time,
    ) -> None:
        self._host = host
        self._ports = ports
        self._credentials = credentials
        self._clock = clock
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runners: list[web.AppRunner] = []
        self.urls: SandboxUrls | None = None

    def start(self) -> SandboxUrls:
        """Bind (port 0 picks a free port) and return once all three are listening."""
        if self.urls is not None:
            return self.urls
        loop = uvloop.new_event_loop()
        thread = threading.Thread(target=loop.run_forever, name="mobius-sandbox", daemon=True)
        thread.start()
        apps = build_apps(self._credentials, clock=self._clock)
        future = asyncio.run_coroutine_threadsafe(_start(apps, self._host, self._ports), loop)
        try:
            self._runners, self.urls = future.result()
        except BaseException:
            _stop_loop(loop, thread)
            raise
        self._loop, self._thread = loop, thread
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
