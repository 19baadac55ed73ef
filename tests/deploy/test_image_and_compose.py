"""The image and compose rules, read from the files themselves (Docker need not be installed): no
secret or caller token in the image, dependencies in a layer that survives source edits, a
``.dockerignore``, compose wiring Redis, RabbitMQ and the sandbox with secrets as files, and a
production configuration that loads and holds no secret."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from mobius.cli import _refuse_inline_secrets
from mobius.readiness import secret_references
from mobius.settings import ConfigError, Posture, Settings, load_settings

ROOT = Path(__file__).parents[2]
PRODUCTION_CONFIG = ROOT / "mobius.production.example.yaml"
SOURCE_DIRS = ("mobius", "schema", "resolvers", "clients", "sandbox")
SECRET_WORDS = re.compile(r"token|secret|password|passwd|api_?key|credential", re.IGNORECASE)


def instructions() -> list[tuple[int, str, str]]:
    """The Dockerfile's instructions as (stage, keyword, arguments), continuation lines joined."""
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    stage = -1
    found = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        keyword, _, arguments = line.partition(" ")
        if keyword.upper() == "FROM":
            stage += 1
        found.append((stage, keyword.upper(), arguments.strip()))
    return found


def compose() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((ROOT / "compose.yaml").read_text())
    return document


def test_dependencies_are_installed_before_the_source_is_copied() -> None:
    build = [(keyword, arguments) for stage, keyword, arguments in instructions() if stage == 0]
    copies = [index for index, (keyword, arguments) in enumerate(build) if keyword == "COPY"]
    installs = [
        index for index, (keyword, arguments) in enumerate(build) if keyword == "RUN" and "pip install" in arguments
    ]
    pyproject = next(index for index in copies if build[index][1].split()[0] == "pyproject.toml")
    first_source = min(index for index in copies if build[index][1].split()[0] in SOURCE_DIRS)

    assert build[pyproject][1] == "pyproject.toml ./", "the dependency layer depends on pyproject.toml alone"
    assert any(pyproject < index < first_source and "requirements" in build[index][1] for index in installs)
    assert "--no-deps" in build[max(installs)][1], "the source is installed without touching the dependency layer"


def test_the_dependency_layer_installs_exactly_the_projects_dependencies(tmp_path: Path) -> None:
    command = next(arguments for _, keyword, arguments in instructions() if keyword == "RUN" and "tomllib" in arguments)
    snippet = re.search(r'python -c "(.*?)"\s+>', command)
    assert snippet is not None
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")

    listed = subprocess.run(  # noqa: S603  (this interpreter, the Dockerfile's own snippet)
        [sys.executable, "-c", snippet.group(1)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()

    expected = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert " ".join(listed) == " ".join(expected)


def test_the_build_stage_compiles_the_executor_with_the_pinned_mypy(tmp_path: Path) -> None:
    build = [arguments for stage, keyword, arguments in instructions() if stage == 0 and keyword == "RUN"]
    command = next(arguments for arguments in build if "build-requirements" in arguments)
    snippet = re.search(r'python -c "(.*?)"\s+>', command)
    assert snippet is not None
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")

    listed = subprocess.run(  # noqa: S603  (this interpreter, the Dockerfile's own snippet)
        [sys.executable, "-c", snippet.group(1)], cwd=tmp_path, capture_output=True, text=True, check=True
    ).stdout.split()

    assert next(name for name in listed if name.startswith("mypy")).startswith("mypy=="), "an exact pin"
    assert any("MOBIUS_BUILD_NATIVE=1" in arguments and "wheel" in arguments for arguments in build)
    assert {"build", "**/*.so", "clients/native.json"} <= set((ROOT / ".dockerignore").read_text().split())


def test_the_image_carries_no_secret_and_no_caller_token() -> None:
    runtime = [(keyword, arguments) for stage, keyword, arguments in instructions() if stage == 1]
    copied = [
        arguments.split()[-2] for keyword, arguments in runtime if keyword == "COPY" and "--from" not in arguments
    ]
    variables = " ".join(arguments for keyword, arguments in runtime if keyword in ("ENV", "ARG"))

    assert copied == ["mobius.production.example.yaml"]
    assert not SECRET_WORDS.search(variables)
    assert "demo-admin-token" not in (ROOT / "Dockerfile").read_text()


def test_the_build_context_leaves_out_what_the_image_must_not_hold() -> None:
    ignored = {line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines() if line.strip()}

    assert {".git", "**/.venv", "tests", "bench", "deploy", "**/node_modules", "mobius.example.yaml"} <= ignored
    assert "mobius.production.example.yaml" not in ignored
    assert "README.md" not in ignored, "the package's metadata reads it"


def test_the_production_configuration_loads_without_a_secret_in_it() -> None:
    settings = load_settings(PRODUCTION_CONFIG)

    _refuse_inline_secrets(settings)
    assert settings.environment == "production"
    assert Posture.of(settings) == Posture(graphiql=False, introspection=False, suggestions=False, csrf_prevention=True)
    references = dict(secret_references(settings))
    assert references, "the upstreams and callers need credentials"
    assert all(ref.value is None for ref in references.values())


def test_a_secret_written_into_the_production_configuration_is_refused(tmp_path: Path) -> None:
    document = yaml.safe_load(PRODUCTION_CONFIG.read_text())
    document["upstreams"]["projects"]["auth"]["token"] = "written-in-the-file"
    config = tmp_path / "mobius.yaml"
    config.write_text(yaml.safe_dump(document))

    with pytest.raises(ConfigError, match=r"upstreams\.projects\.auth\.token"):
        _refuse_inline_secrets(load_settings(config))


def compose_gateway_settings(monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The production configuration as the compose gateway loads it (its environment applied)."""
    for name, value in compose()["services"]["gateway"]["environment"].items():
        monkeypatch.setenv(name, str(value))
    return load_settings(PRODUCTION_CONFIG)


def test_compose_wires_redis_and_the_sandbox_and_passes_secrets_as_files(monkeypatch: pytest.MonkeyPatch) -> None:
    services = compose()["services"]
    gateway = services["gateway"]
    environment = gateway["environment"]
    settings = compose_gateway_settings(monkeypatch)

    assert settings.redis.url is not None
    assert settings.redis.url.env is not None
    assert environment[settings.redis.url.env].startswith("redis://redis:")
    for upstream in ("IDENTITY", "BILLING", "PROJECTS"):
        assert environment[f"MOBIUS_UPSTREAMS__{upstream}__BASE_URL"].startswith("http://sandbox:")
    assert {"sandbox", "redis"} <= set(gateway["depends_on"])
    assert not [name for name in environment if SECRET_WORDS.search(name)], "secrets are files, not variables"

    files = {ref.file.name for _, ref in secret_references(settings) if ref.file is not None}
    assert all(str(ref.file).startswith("/run/secrets/") for _, ref in secret_references(settings) if ref.file)
    assert set(gateway["secrets"]) == files
    for name in files:
        assert (ROOT / compose()["secrets"][name]["file"]).is_file()


def test_compose_runs_rabbitmq_and_the_gateway_consumes_the_sandboxs_issue_events(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    compose_file = compose()
    services = compose_file["services"]
    rabbitmq = services["rabbitmq"]
    settings = compose_gateway_settings(monkeypatch)
    broker = settings.events.broker

    assert re.fullmatch(r"rabbitmq:[\d.]+-alpine", rabbitmq["image"]), "the official image, pinned, no management"
    assert "ports" not in rabbitmq, "only the stack reaches the broker"
    assert rabbitmq["healthcheck"]["test"][:2] == ["CMD", "rabbitmq-diagnostics"]
    assert services["gateway"]["depends_on"]["rabbitmq"] == {"condition": "service_healthy"}

    assert broker.enabled
    assert broker.url is not None
    assert broker.url.file == Path("/run/secrets/amqp_url")
    assert "amqp_url" in services["gateway"]["secrets"]
    assert "amqp_url" in services["sandbox"]["secrets"]
    sandbox_command = " ".join(services["sandbox"]["entrypoint"])
    assert '--broker-url "$$(cat /run/secrets/amqp_url)"' in sandbox_command
    assert "--broker-exchange" not in sandbox_command, "the sandbox's default exchange is the gateway's"
    assert broker.exchange == "projects.events"

    [credentials] = rabbitmq["secrets"]
    assert credentials["target"].startswith("/etc/rabbitmq/conf.d/")
    conf_text = (ROOT / compose_file["secrets"][credentials["source"]]["file"]).read_text()
    pairs = (line.partition("=") for line in conf_text.splitlines() if not line.startswith("#"))
    conf = {key.strip(): value.strip() for key, _, value in pairs}
    url = urlsplit((ROOT / compose_file["secrets"]["amqp_url"]["file"]).read_text().strip())
    assert (url.scheme, url.hostname, url.port) == ("amqp", "rabbitmq", 5672)
    assert (url.username, url.password) == (conf["default_user"], conf["default_pass"])
    assert url.password is not None
    assert url.password not in (ROOT / "compose.yaml").read_text(), "the password lives in secret files only"


def test_compose_is_valid_for_docker_where_docker_compose_is_installed() -> None:
    docker = shutil.which("docker")
    if docker is None:
        pytest.skip("docker is not installed here; the file rules above still hold")
    plugin = subprocess.run([docker, "compose", "version"], capture_output=True, text=True, check=False)  # noqa: S603
    if plugin.returncode != 0:
        pytest.skip("docker compose is not installed here; the file rules above still hold")
    done = subprocess.run([docker, "compose", "config"], cwd=ROOT, capture_output=True, text=True, check=False)  # noqa: S603
    assert done.returncode == 0, done.stderr
