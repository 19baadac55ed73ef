"""Which of the gateway's modules are imported compiled (mypyc) and which from their sources.

A native build (``setup.py``, ``MOBIUS_BUILD_NATIVE=1``) compiles the modules listed in
``pyproject.toml`` (in ``schema``, ``resolvers``, ...) into one group whose shared library lives
here (``native__mypyc``), puts an extension module next to each compiled module's source and writes
``native.json`` here: the hash of every source it compiled. Python imports an extension module in
preference to the source beside it, so an edited source would be shadowed by its stale build.
``select`` (called by the ``__init__`` of each of the gateway's packages, before any of their
modules is imported; the first call decides) keeps the compiled modules only when every one in the
manifest is built from the source now next to it; otherwise, or with ``MOBIUS_PURE_PYTHON=1``, every
module that has an extension module is imported from its source, never a mix of the two. A build
that is not used is reported by one warning.

This module sits in the lowest layer so that every layer may call it; it imports nothing of the
gateway.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Sequence
from hashlib import sha256
from importlib.abc import MetaPathFinder
from importlib.machinery import EXTENSION_SUFFIXES, ModuleSpec
from importlib.util import spec_from_file_location
from pathlib import Path
from types import ModuleType

MANIFEST = "native.json"
SHARED_LIBRARY = "native__mypyc"
PACKAGES = ("mobius", "schema", "resolvers", "clients")
"""The gateway's packages (its layers): where compiled modules may be, each calling ``select``."""

log = logging.getLogger("mobius.native")

_HERE = Path(__file__).parent
_selected = False


class SourceFinder(MetaPathFinder):
    """Finds the listed modules (by dotted name) from their ``.py`` sources, whatever lies beside them."""

    def __init__(self, modules: frozenset[str]) -> None:
        self.modules = modules

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        if fullname not in self.modules:
            return None
        name = fullname.rpartition(".")[2]
        for directory in path or ():
            source = Path(directory, f"{name}.py")
            if source.is_file():
                return spec_from_file_location(fullname, source)
            package = Path(directory, name)
            if (package / "__init__.py").is_file():
                return spec_from_file_location(
                    fullname, package / "__init__.py", submodule_search_locations=[str(package)]
                )
        return None


def select() -> None:
    """Leave the compiled modules to Python's import when they are all current; otherwise have every
    module with an extension module imported from its source. Only the first call does anything."""
    global _selected  # noqa: PLW0603  # one decision per process, whichever package asks first
    if _selected:
        return
    _selected = True
    root = _HERE.parent
    manifest_path = _HERE / MANIFEST
    hashes = _manifest(manifest_path)
    built = _built_modules(root)
    if not built and not manifest_path.exists():
        return
    if os.environ.get("MOBIUS_PURE_PYTHON") != "1":
        reason = _stale(root, hashes, built)
        if reason is None:
            return
        log.warning("compiled modules not used (%s): running from the Python sources", reason)
    sys.meta_path.insert(0, SourceFinder(frozenset(built)))


def _manifest(path: Path) -> dict[str, str] | None:
    """The manifest's source hash by module, or ``None`` when there is none or it cannot be read."""
    try:
        modules: dict[str, str] = json.loads(path.read_text())["modules"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return modules if isinstance(modules, dict) else None


def _built_modules(root: Path) -> set[str]:
    """Modules of the gateway's packages (by dotted name) with an extension module that Python would
    import instead of the source (not the build's shared library, which has no source)."""
    built = set()
    for package in PACKAGES:
        for suffix in EXTENSION_SUFFIXES:
            for path in (root / package).rglob(f"*{suffix}"):
                parts = path.relative_to(root).with_name(path.name.removesuffix(suffix)).parts
                if "." in parts[-1] or parts[-1] == SHARED_LIBRARY:
                    continue
                built.add(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return built


def _source_of(root: Path, module: str) -> Path:
    path = root.joinpath(*module.split("."))
    return path / "__init__.py" if path.is_dir() else path.with_suffix(".py")


def _stale(root: Path, hashes: dict[str, str] | None, built: set[str]) -> str | None:
    """Why the build cannot be used, or None when every compiled module matches its source."""
    if hashes is None:
        return f"no readable {MANIFEST}"
    if built != set(hashes):
        return f"built {sorted(built)}, {MANIFEST} lists {sorted(hashes)}"
    for module, digest in sorted(hashes.items()):
        source = _source_of(root, module)
        if not source.is_file() or sha256(source.read_bytes()).hexdigest() != digest:
            return f"{source.relative_to(root)} changed since it was compiled"
    return None
