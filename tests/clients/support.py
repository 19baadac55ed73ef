"""Helpers for the client-layer tests: upstream clients built the way the app builds them,
talking to the shared sandbox on loopback (no HTTP is mocked)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from canary import CANARY_CALLER_TOKEN

from clients.upstreams import Upstreams
from mobius.demo import demo_settings
from mobius.settings import Settings, load_settings
from mobius.upstreams import build_upstreams
from sandbox import SandboxCredentials, SandboxUrls


@dataclass
class FakeClock:
    """A monotonic clock the test moves by hand."""

    now: float = 1_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


async def route_count(sandbox: Any, upstream: str, route: str) -> int:
    stats = await sandbox.stats(upstream)
    count: int = stats["routes"].get(route, 0)
    return count


async def started(urls: SandboxUrls, credentials: SandboxCredentials) -> Upstreams:
    upstreams = build_upstreams(demo_settings(urls, credentials, caller_token=CANARY_CALLER_TOKEN))
    await upstreams.start()
    return upstreams


def settings_with(
    urls: SandboxUrls, credentials: SandboxCredentials, *, cached: bool = False, **changes: dict[str, Any]
) -> Settings:
    """The demo settings with per-upstream changes merged in (e.g. ``billing={"timeouts": {...}}``),
    re-validated through ``load_settings`` exactly as a config file would be. The response cache is
    off unless ``cached``: these tests watch what reaches the upstreams."""
    base = demo_settings(urls, credentials, caller_token=CANARY_CALLER_TOKEN)
    upstreams = {name: section.model_dump() for name, section in base.upstreams.items()}
    for name, change in changes.items():
        _merge(upstreams[name], change)
    callers = [caller.model_dump() for caller in base.callers]
    return load_settings(upstreams=upstreams, callers=callers, cache={"enabled": cached})


def _merge(target: dict[str, Any], change: dict[str, Any]) -> None:
    for key, value in change.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            _merge(target[key], value)
        else:
            target[key] = value


UNHURRIED: dict[str, Any] = {
    "timeouts": {"connect_s": 60.0, "read_s": 60.0, "total_s": 120.0},
    "resilience": {"bulkhead": {"max_wait_s": 60.0}},
}
"""An upstream's changes for a test of a burst that is not about timing: the defaults (1 s to
connect, 0.5 s in the bulkhead's queue) are outage limits that a busy CI machine can reach with
the sandbox healthy, so a burst of 200 calls gets limits only a dead sandbox reaches."""


async def started_with(urls: SandboxUrls, credentials: SandboxCredentials, **changes: dict[str, Any]) -> Upstreams:
    upstreams = build_upstreams(settings_with(urls, credentials, **changes))
    await upstreams.start()
    return upstreams
