"""The sandbox upstreams as a registry: a module that declares `SANDBOX = SandboxUpstream(...)` is one.

Everything that runs or points at the sandbox (the server, `mobius sandbox`, the demo's settings,
the test harness) iterates the registry, so adding an upstream is adding one module to this
package. Discovery imports every module of the package and keeps the declarations it finds,
ordered by default port.
"""

from __future__ import annotations

import functools
import importlib
import pkgutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

from aiohttp import web

from sandbox.upstream import Clock

C = TypeVar("C")
C_contra = TypeVar("C_contra", contravariant=True)
GatewaySection = dict[str, Any]
"""One entry of the gateway's `upstreams` settings, as a config file has it (secrets as plain values)."""


class AppFactory(Protocol[C_contra]):
    """Builds a fresh application for the credentials; run it with `handler_cancellation=True`."""

    def __call__(self, credentials: C_contra, *, clock: Clock) -> web.Application: ...


@dataclass(frozen=True, kw_only=True)
class SandboxUpstream(Generic[C]):
    """One sandbox upstream: how to run it and how a gateway reaches it."""

    name: str
    default_port: int
    """The port `mobius sandbox` binds unless told otherwise; it also orders the registry."""
    credentials: C
    """The default credentials: a frozen dataclass of what this upstream accepts."""
    create_app: AppFactory[C]
    gateway_section: Callable[[str, C], GatewaySection]
    """(base URL, credentials) -> the gateway's settings section for this upstream (no `vendor` key)."""
    slot: str = ""
    """The gateway upstream this one answers for; empty means its own name."""
    summary: str = ""
    auth_routes: frozenset[str] = field(default_factory=frozenset)
    """Routes that hand out credentials rather than serve the API (left out of API request counts)."""

    @property
    def serves(self) -> str:
        """The gateway upstream (settings key) this sandbox answers for."""
        return self.slot or self.name

    def gateway_settings(self, base_url: str, credentials: C) -> GatewaySection:
        """The settings section for the gateway upstream this serves; a second vendor names itself."""
        section = self.gateway_section(base_url, credentials)
        if self.serves != self.name:
            section["vendor"] = self.name
        return section


class RegistryError(ValueError):
    """Declarations that cannot run side by side (a name or default port used twice)."""


@dataclass(frozen=True)
class SandboxRegistry:
    """The sandbox upstreams in default-port order, by name."""

    upstreams: tuple[SandboxUpstream[Any], ...]

    def __post_init__(self) -> None:
        for attribute in ("name", "default_port"):
            values = [getattr(upstream, attribute) for upstream in self.upstreams]
            twice = sorted({str(v) for v in values if values.count(v) > 1})
            if twice:
                raise RegistryError(f"sandbox upstreams share a {attribute.replace('_', ' ')}: {', '.join(twice)}")

    @classmethod
    def discover(cls, *packages: str) -> SandboxRegistry:
        """Import every module of each package and collect their `SANDBOX` declarations."""
        found: list[SandboxUpstream[Any]] = []
        for package in packages:
            module = importlib.import_module(package)
            for info in pkgutil.iter_modules(module.__path__, prefix=f"{package}."):
                declared = getattr(importlib.import_module(info.name), "SANDBOX", None)
                if isinstance(declared, SandboxUpstream):
                    found.append(declared)
        return cls(tuple(sorted(found, key=lambda upstream: upstream.default_port)))

    def __iter__(self) -> Iterator[SandboxUpstream[Any]]:
        return iter(self.upstreams)

    def __len__(self) -> int:
        return len(self.upstreams)

    def __contains__(self, name: object) -> bool:
        return any(upstream.name == name for upstream in self.upstreams)

    def __getitem__(self, name: str) -> SandboxUpstream[Any]:
        for upstream in self.upstreams:
            if upstream.name == name:
                return upstream
        raise KeyError(f"no sandbox upstream {name!r}; there are: {', '.join(self.names())}")

    def names(self) -> tuple[str, ...]:
        return tuple(upstream.name for upstream in self.upstreams)

    def slots(self) -> tuple[str, ...]:
        """The gateway upstreams served, each once, in registry order."""
        return tuple(dict.fromkeys(upstream.serves for upstream in self.upstreams))

    def vendors(self, slot: str) -> tuple[SandboxUpstream[Any], ...]:
        """The sandboxes that answer for gateway upstream `slot`, the one named like it first."""
        serving = [upstream for upstream in self.upstreams if upstream.serves == slot]
        return tuple(sorted(serving, key=lambda upstream: upstream.name != slot))


@functools.cache
def default_registry() -> SandboxRegistry:
    """The upstreams of the `sandbox` package."""
    return SandboxRegistry.discover("sandbox")
