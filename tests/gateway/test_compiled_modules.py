"""The hot modules listed in pyproject.toml (the executor's, the loaders', ...) run compiled (mypyc)
when they are built from their current sources, and from the sources otherwise: all of them, never a
mix, and never a stale build of an edited file.

Each case imports the modules in a fresh interpreter, as a worker does."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tomllib
from importlib.machinery import EXTENSION_SUFFIXES
from pathlib import Path

import pytest

from clients._native import PACKAGES

ROOT = Path(__file__).resolve().parents[2]
MODULES: list[str] = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mobius"]["mypyc"]["modules"]
IMPORT = f"import importlib, json; print(json.dumps([importlib.import_module(m).__file__ for m in {MODULES!r}]))"
WARNING = "compiled modules not used"

needs_build = pytest.mark.skipif(
    not (ROOT / "clients" / "native.json").exists(), reason="not built: scripts/bootstrap compiles the modules"
)


def imported_files(root: Path, *, pure: bool = False) -> tuple[list[str], str]:
    """Where each compiled module was imported from with ``root`` first on the path, and stderr."""
    env = {name: value for name, value in os.environ.items() if name != "MOBIUS_PURE_PYTHON"}
    env["PYTHONPATH"] = str(root)
    if pure:
        env["MOBIUS_PURE_PYTHON"] = "1"
    done = subprocess.run(  # noqa: S603  (this interpreter, fixed arguments)
        [sys.executable, "-c", IMPORT], cwd=root, capture_output=True, text=True, timeout=60, env=env, check=False
    )
    assert done.returncode == 0, done.stderr
    files: list[str] = json.loads(done.stdout.splitlines()[-1])
    return files, done.stderr


def copy_of_build(tmp_path: Path) -> Path:
    """The gateway's packages with their build (the build's shared library included) in a directory of their own."""
    for package in PACKAGES:
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    return tmp_path


def source_of(root: Path, module: str) -> Path:
    path = root.joinpath(*module.split("."))
    return path / "__init__.py" if path.is_dir() else path.with_suffix(".py")


def assert_compiled(files: list[str]) -> None:
    """By file name: a module that another compiled module imports first gets a ``__file__`` below
    a doubled package directory from mypyc's shared library (``schema/schema/lockstep...so``)."""
    assert [Path(file).name for file in files] == [
        source_of(ROOT, module).with_suffix(EXTENSION_SUFFIXES[0]).name for module in MODULES
    ]


def assert_sources(files: list[str], root: Path) -> None:
    assert files == [str(source_of(root, module)) for module in MODULES]


def test_every_compiled_module_is_in_a_package_that_runs_the_guard_first() -> None:
    assert {module.partition(".")[0] for module in MODULES} <= set(PACKAGES)
    for package in PACKAGES:
        assert "select()" in (ROOT / package / "__init__.py").read_text(), package


@needs_build
def test_the_built_modules_are_imported_compiled() -> None:
    files, stderr = imported_files(ROOT)
    assert_compiled(files)
    assert WARNING not in stderr


@needs_build
def test_the_installed_package_runs_compiled_outside_the_checkout(tmp_path: Path) -> None:
    """As ``mobius serve`` does from any directory: the checkout is not on the path, only the install."""
    env = {name: value for name, value in os.environ.items() if name not in ("MOBIUS_PURE_PYTHON", "PYTHONPATH")}
    done = subprocess.run(  # noqa: S603  (this interpreter, fixed arguments)
        [sys.executable, "-c", IMPORT], cwd=tmp_path, capture_output=True, text=True, timeout=60, env=env, check=False
    )
    assert done.returncode == 0, done.stderr
    files: list[str] = json.loads(done.stdout.splitlines()[-1])
    assert_compiled(files)
    assert WARNING not in done.stderr


def test_pure_python_forces_the_sources() -> None:
    files, stderr = imported_files(ROOT, pure=True)
    assert_sources(files, ROOT)
    assert WARNING not in stderr


@needs_build
def test_a_source_edited_after_the_build_runs_every_module_from_source(tmp_path: Path) -> None:
    root = copy_of_build(tmp_path)
    with (root / "schema" / "plans.py").open("a") as source:
        source.write("\n")
    files, stderr = imported_files(root)
    assert_sources(files, root)
    assert stderr.count(WARNING) == 1
    assert "plans.py changed since it was compiled" in stderr


@needs_build
def test_a_missing_compiled_module_runs_every_module_from_source(tmp_path: Path) -> None:
    root = copy_of_build(tmp_path)
    (root / "schema" / f"lockstep{EXTENSION_SUFFIXES[0]}").unlink()
    files, stderr = imported_files(root)
    assert_sources(files, root)
    assert stderr.count(WARNING) == 1
