"""Every upstream slot and vendor declared in ``clients/``, found in its modules: adding an
upstream is adding its module, nothing is listed by hand."""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass
from functools import cache
from typing import Any

import clients
from clients.declaration import Read, Upstream, Vendor


@dataclass(frozen=True, slots=True)
class Registry:
    upstreams: tuple[Upstream[Any], ...]
    """By name."""
    vendors: tuple[Vendor[Any], ...]

    def upstream(self, name: str) -> Upstream[Any] | None:
        return next((upstream for upstream in self.upstreams if upstream.name == name), None)

    def vendors_of(self, upstream: Upstream[Any]) -> tuple[Vendor[Any], ...]:
        return tuple(vendor for vendor in self.vendors if vendor.serves is upstream)

    def vendor(self, upstream: Upstream[Any], name: str | None) -> Vendor[Any]:
        """The vendor ``name`` of this slot (``None``: the one named like the slot); ``KeyError`` if
        no vendor of that name serves it."""
        wanted = upstream.name if name is None else name
        for vendor in self.vendors_of(upstream):
            if vendor.name == wanted:
                return vendor
        raise KeyError(wanted)

    @property
    def reads(self) -> tuple[Read[Any, Any, Any], ...]:
        return tuple(read for upstream in self.upstreams for read in upstream.reads)


def collect(modules: list[Any]) -> Registry:
    """The declarations found in ``modules``, checked: read names are unique (they name cache types
    and TTL settings), and every slot has a default vendor named like it."""
    upstreams: dict[int, Upstream[Any]] = {}
    vendors: dict[int, Vendor[Any]] = {}
    for module in modules:
        for value in vars(module).values():
            if isinstance(value, Upstream):
                upstreams[id(value)] = value
            elif isinstance(value, Vendor):
                vendors[id(value)] = value
    registry = Registry(
        upstreams=tuple(sorted(upstreams.values(), key=lambda upstream: upstream.name)),
        vendors=tuple(sorted(vendors.values(), key=lambda vendor: (vendor.serves.name, vendor.name))),
    )
    names = [read.name for read in registry.reads]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ValueError(f"reads declared twice: {', '.join(duplicates)}")
    for upstream in registry.upstreams:
        registry.vendor(upstream, None)
    return registry


@cache
def registry() -> Registry:
    """The declarations of every module directly in ``clients/``."""
    modules = [
        importlib.import_module(f"{clients.__name__}.{info.name}")
        for info in pkgutil.iter_modules(clients.__path__)
        if not info.ispkg and info.name != "registry"
    ]
    return collect(modules)
