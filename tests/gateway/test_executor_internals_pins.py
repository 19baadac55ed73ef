"""The internals the planned executor is written against, each pinned by a test named after it.

``schema/execution.py`` (with ``execution_state.py``) subclasses graphql-core 3.3's executor and
calls its per-field methods; ``schema/plans.py`` and ``schema/streamline.py`` read Strawberry's field definitions;
``schema/lockstep.py`` steps coroutines itself, as asyncio's tasks do. None of that is public API.
The releases it was read from are pinned exactly in ``pyproject.toml`` (checked here); a release
that moves one of these entry points fails, by name, in ``test_executor_internals_graphql_core``,
``_strawberry`` or ``_asyncio`` instead of answering wrongly. To move a pin: install the new release,
make those modules pass, then update ``WRITTEN_AGAINST`` and the pin together (or run with
``execution.planned: false`` meanwhile).
"""

from __future__ import annotations

import tomllib
from importlib.metadata import version
from pathlib import Path as FilePath

from packaging.requirements import Requirement

WRITTEN_AGAINST = {"graphql-core": "3.3.2", "strawberry-graphql": "0.341.2"}
"""The releases whose internals the planned executor was read from and tested against."""

PYPROJECT = FilePath(__file__).parents[2] / "pyproject.toml"
EXECUTOR_FILES = "schema/execution.py, execution_state.py, steps.py, plans.py, streamline.py, collected.py, lockstep.py"


def pinned_requirements() -> dict[str, Requirement]:
    dependencies = tomllib.loads(PYPROJECT.read_text())["project"]["dependencies"]
    requirements = [Requirement(dependency) for dependency in dependencies]
    return {requirement.name: requirement for requirement in requirements if requirement.name in WRITTEN_AGAINST}


def test_pyproject_pins_exactly_the_releases_the_executor_was_written_against() -> None:
    pins = {name: str(requirement.specifier) for name, requirement in pinned_requirements().items()}
    assert pins == {name: f"=={release}" for name, release in WRITTEN_AGAINST.items()}, (
        f"pyproject.toml must pin {WRITTEN_AGAINST} exactly: {EXECUTOR_FILES} rely on their internals"
    )


def test_installed_releases_are_the_ones_the_executor_was_written_against() -> None:
    installed = {name: version(name) for name in WRITTEN_AGAINST}
    assert installed == WRITTEN_AGAINST, (
        f"installed {installed}, but {EXECUTOR_FILES} were written against {WRITTEN_AGAINST}: "
        "reinstall (scripts/bootstrap --dev), or make tests/gateway/test_executor_internals_*.py pass on the new "
        "releases and move the pins "
        "(production can run with execution.planned: false meanwhile)"
    )
