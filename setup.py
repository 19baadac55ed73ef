"""Builds the package; with ``MOBIUS_BUILD_NATIVE=1`` also compiles the hot modules with mypyc.

The modules are listed once, in ``pyproject.toml`` (``[tool.mobius.mypyc] modules``). A plain
``pip install`` stays pure Python. After a native build, ``clients/native.json`` records the mypy
version and the hash of each compiled module's source; ``clients._native`` uses the compiled
modules only when all of them match the sources next to them.
"""

from __future__ import annotations

import json
import os
import tomllib
from concurrent.futures import ThreadPoolExecutor
from hashlib import sha256
from importlib.metadata import version
from pathlib import Path
from typing import Any

from setuptools import setup
from setuptools.command.build_ext import build_ext

ROOT = Path(__file__).parent
MANIFEST = Path("clients", "native.json")


def native_modules() -> list[str]:
    """The modules to compile, by dotted name, from ``pyproject.toml``."""
    with (ROOT / "pyproject.toml").open("rb") as file:
        modules: list[str] = tomllib.load(file)["tool"]["mobius"]["mypyc"]["modules"]
    return modules


def source_of(module: str) -> Path:
    path = Path(*module.split("."))
    return path / "__init__.py" if (ROOT / path).is_dir() else path.with_suffix(".py")


class BuildNative(build_ext):
    """``build_ext`` that compiles an extension's C files side by side and writes the manifest once
    every extension is built.

    The group is one extension of one C file per module (``multi_file``); distutils compiles an
    extension's sources one after another, which left all but one core idle for most of the build.
    """

    def build_extension(self, ext: Any) -> None:
        compile_each = self.compiler.compile

        def compile_side_by_side(sources: list[str], *args: Any, **kwargs: Any) -> list[str]:
            with ThreadPoolExecutor(os.cpu_count() or 1) as pool:
                batches = pool.map(lambda source: compile_each([source], *args, **kwargs), sources)
                return [obj for batch in batches for obj in batch]

        self.compiler.compile = compile_side_by_side
        try:
            super().build_extension(ext)
        finally:
            self.compiler.compile = compile_each

    def run(self) -> None:
        super().run()
        target = ROOT if self.inplace else Path(self.build_lib)
        manifest = {
            "mypy": version("mypy"),
            "modules": {
                module: sha256((ROOT / source_of(module)).read_bytes()).hexdigest() for module in native_modules()
            },
        }
        (target / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")


def native_options() -> dict[str, Any]:
    if os.environ.get("MOBIUS_BUILD_NATIVE") != "1":
        return {}
    from mypyc.build import mypycify  # noqa: PLC0415  # only a native build needs mypy

    paths = [str(source_of(module)) for module in native_modules()]
    # The group's shared library lives in a package (clients/native__mypyc...so, beside the guard in
    # the lowest layer), where the installed package finds it, not at the checkout's top level.
    extensions = mypycify(paths, group_name="clients.native", multi_file=True)
    for extension in extensions:
        # mypyc writes a dotted group's headers into its package's folder and the per-module C
        # files (``multi_file``) above it, which then find the headers only with this.
        extension.include_dirs.append(str(Path("build", "clients")))
    return {"ext_modules": extensions, "cmdclass": {"build_ext": BuildNative}}


setup(**native_options())
