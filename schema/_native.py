"""Which of the executor's modules are imported compiled (mypyc) and which from their sources.

A native build (``setup.py``, ``MOBIUS_BUILD_NATIVE=1``) puts an extension module next to each
compiled module's source and writes ``native.json``: the hash of every source it compiled. Python
imports an extension module in preference to the source beside it, so an edited source would be
shadowed by its stale build. ``select`` (called once, by ``schema/__init__.py``, before any
submodule is imported) keeps the compiled modules only when every one in the manifest is built
from the source now next to it; otherwise, or with ``MOBIUS_PURE_PYTHON=1``, every module that has
an extension module here is imported from its source, never a mix of the two. A build that is not
used is reported by one warning.
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

log = logging.getLogger("mobius.native")


class SourceFinder(MetaPathFinder):
    """Finds the listed submodules of the package as their ``.py`` sources, whatever lies beside them."""

    def __init__(self, package: str, modules: frozenset[str]) -> None:
        self.package = package
        self.modules = modules

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        package, _, name = fullname.rpartition(".")
        if package != self.package or name not in self.modules:
            return None
        for directory in path or ():
            source = Path(directory, f"{name}.py")
            if source.is_file():
                return spec_from_file_location(fullname, source)
        return None


def select(package: str, directory: Path) -> None:
    """Leave the package's compiled modules to Python's import when they are current; otherwise
    have every module with an extension module here imported from its source."""
    built = _built_modules(directory)
    manifest_path = directory / MANIFEST
    if not built and not manifest_path.exists():
        return
    if os.environ.get("MOBIUS_PURE_PYTHON") != "1":
        reason = _stale(directory, manifest_path, built)
        if reason is None:
            return
        log.warning("compiled modules of %s not used (%s): running from the Python sources", package, reason)
    sys.meta_path.insert(0, SourceFinder(package, frozenset(built)))


def _built_modules(directory: Path) -> set[str]:
    """Modules of the package with an extension module that Python would import instead of the
    source (not the build's shared library, ``native__mypyc``, which has no source)."""
    return {
        name
        for suffix in EXTENSION_SUFFIXES
        for path in directory.glob(f"*{suffix}")
        if "." not in (name := path.name.removesuffix(suffix)) and not name.endswith("__mypyc")
    }


def _stale(directory: Path, manifest_path: Path, built: set[str]) -> str | None:
    """Why the build cannot be used, or None when every compiled module matches its source."""
    try:
        manifest = json.loads(manifest_path.read_text())
        hashes: dict[str, str] = {name.rpartition(".")[2]: digest for name, digest in manifest["modules"].items()}
    except (OSError, ValueError, KeyError, AttributeError):
        return f"no readable {MANIFEST}"
    if built != set(hashes):
        return f"built {sorted(built)}, {MANIFEST} lists {sorted(hashes)}"
    for name, digest in sorted(hashes.items()):
        source = directory / f"{name}.py"
        if not source.is_file() or sha256(source.read_bytes()).hexdigest() != digest:
            return f"{name}.py changed since it was compiled"
    return None
