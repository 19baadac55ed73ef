"""Fields a domain module adds to a type another module defines (``Organization.tickets`` comes
from the support module): the module declares a ``@strawberry.type`` class with those fields and
marks it ``@part_of("Organization")``; the type is defined as ``class Organization(*parts_of(...))``.

The modules looked at are ``schema.<name>`` for each declared upstream (``clients.registry``), so
an upstream's schema module extends the graph without an edit elsewhere.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable
from typing import TypeVar

from clients.registry import registry

T = TypeVar("T", bound=type)

_parts: dict[str, list[type]] = {}


def part_of(type_name: str) -> Callable[[T], T]:
    """Marks a Strawberry type whose fields ``type_name`` has too."""

    def mark(part: T) -> T:
        _parts.setdefault(type_name, []).append(part)
        return part

    return mark


def parts_of(type_name: str) -> tuple[type, ...]:
    """The parts declared for ``type_name`` by the upstreams' schema modules, by module name."""
    for upstream in registry().upstreams:
        module = f"{__package__}.{upstream.name}"
        if importlib.util.find_spec(module) is not None:
            importlib.import_module(module)
    return tuple(sorted(_parts.get(type_name, ()), key=lambda part: (part.__module__, part.__qualname__)))
