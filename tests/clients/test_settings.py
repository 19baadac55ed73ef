"""Loading settings from YAML plus MOBIUS_* environment variables, with operator-readable errors."""

from __future__ import annotations

import os
import textwrap
from collections import Counter
from pathlib import Path

import pytest
import yaml
from config_support import offline_upstreams

from mobius.settings import ConfigError, HmacAuthSettings, load_settings
from mobius.upstreams import build_policy

LISTED = ("identity", "billing", "projects")


def other_upstreams() -> str:
    """YAML of every declared upstream but those the literal below lists (each needs a section)."""
    others = {name: section for name, section in offline_upstreams().items() if name not in LISTED}
    return textwrap.indent(yaml.safe_dump(others), "  ") if others else ""


CONFIG = """\
upstreams:
  identity:
    base_url: http://identity.internal
    auth:
      type: oauth2_client_credentials
      token_url: /oauth/token
      client_id: mobius
      client_secret: {env: IDENTITY_CLIENT_SECRET}
  billing:
    base_url: http://billing.internal
    timeouts: {read_s: 2.5}
    auth:
      type: api_key_hmac
      api_key: {file: /run/secrets/billing_api_key}
      signing_secret: inline-signing-secret
  projects:
    base_url: http://projects.internal
    auth: {type: bearer, token: {env: PROJECTS_TOKEN}}
""" + other_upstreams()


@pytest.fixture(autouse=True)
def _no_mobius_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("MOBIUS_"):
            monkeypatch.delenv(name)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "mobius.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def config_error(path: Path) -> str:
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    return str(caught.value)


def test_a_valid_file_loads(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, CONFIG))

    billing = settings.upstreams["billing"]
    assert billing.base_url == "http://billing.internal"
    assert billing.timeouts.read_s == 2.5
    assert isinstance(billing.auth, HmacAuthSettings)
    assert billing.auth.api_key.file == Path("/run/secrets/billing_api_key")
    assert "inline-signing-secret" not in repr(settings)


def test_an_unknown_key_names_its_dotted_path(tmp_path: Path) -> None:
    message = config_error(write(tmp_path, CONFIG.replace("read_s: 2.5", "read_sec: 2.5")))

    assert "upstreams.billing.timeouts.read_sec" in message


def test_a_bad_type_names_its_dotted_path(tmp_path: Path) -> None:
    message = config_error(write(tmp_path, CONFIG.replace("read_s: 2.5", "read_s: slow")))

    assert "upstreams.billing.timeouts.read_s" in message


def test_an_out_of_range_value_names_its_dotted_path(tmp_path: Path) -> None:
    message = config_error(write(tmp_path, CONFIG.replace("read_s: 2.5", "read_s: -1")))

    assert "upstreams.billing.timeouts.read_s" in message


def test_a_missing_upstream_is_named(tmp_path: Path) -> None:
    text = CONFIG.split("  projects:", maxsplit=1)[0]

    assert "upstreams.projects" in config_error(write(tmp_path, text))


def test_an_environment_variable_overrides_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MOBIUS_UPSTREAMS__BILLING__BASE_URL", "http://billing.override")
    monkeypatch.setenv("MOBIUS_UPSTREAMS__BILLING__TIMEOUTS__READ_S", "0.75")

    settings = load_settings(write(tmp_path, CONFIG))

    billing = settings.upstreams["billing"]
    assert billing.base_url == "http://billing.override"
    assert billing.timeouts.read_s == 0.75
    assert isinstance(billing.auth, HmacAuthSettings), "the rest of the billing block still comes from the file"
    assert settings.upstreams["identity"].base_url == "http://identity.internal"


def test_a_bad_environment_value_names_its_dotted_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MOBIUS_UPSTREAMS__BILLING__TIMEOUTS__READ_S", "soon")

    assert "upstreams.billing.timeouts.read_s" in config_error(write(tmp_path, CONFIG))


def test_a_missing_file_gives_a_clear_config_error(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "mobius.yaml"

    message = config_error(missing)

    assert "not found" in message
    assert str(missing) in message


def test_a_secret_with_two_sources_is_refused(tmp_path: Path) -> None:
    text = CONFIG.replace("{env: IDENTITY_CLIENT_SECRET}", "{env: IDENTITY_CLIENT_SECRET, value: oops}")

    message = config_error(write(tmp_path, text))

    assert "upstreams.identity.auth" in message
    assert "client_secret" in message


def test_a_yaml_syntax_error_gives_a_config_error(tmp_path: Path) -> None:
    path = write(tmp_path, CONFIG.replace("timeouts: {read_s: 2.5}", "timeouts: {read_s: 2.5"))

    with pytest.raises(ConfigError, match=r"mobius\.yaml"):
        load_settings(path)


def test_a_yaml_file_that_is_not_a_mapping_gives_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        load_settings(write(tmp_path, "- upstreams\n- callers\n"))


def test_the_response_cache_is_opt_in_and_its_section_is_strict(tmp_path: Path) -> None:
    assert not load_settings(write(tmp_path, CONFIG)).cache.response.enabled

    settings = load_settings(write(tmp_path, CONFIG + "cache:\n  response: {enabled: true, max_ttl_s: 15}\n"))
    assert (settings.cache.response.enabled, settings.cache.response.max_ttl_s) == (True, 15)

    unknown = config_error(write(tmp_path, CONFIG + "cache:\n  response: {enabled: true, ttl: 15}\n"))
    assert "cache.response.ttl" in unknown
    assert "cache.response.max_ttl_s" in config_error(write(tmp_path, CONFIG + "cache:\n  response: {max_ttl_s: 0}\n"))


def test_the_rate_limit_window_kind_is_set_per_upstream_and_checked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MOBIUS_UPSTREAMS__BILLING__RESILIENCE__RATE_LIMIT__WINDOW", "fixed")

    upstreams = load_settings(write(tmp_path, CONFIG)).upstreams

    assert build_policy("billing", upstreams.billing).resilience.rate_limit.window == "fixed"
    assert build_policy("identity", upstreams.identity).resilience.rate_limit.window == "sliding"
    monkeypatch.setenv("MOBIUS_UPSTREAMS__BILLING__RESILIENCE__RATE_LIMIT__WINDOW", "tumbling")
    assert "upstreams.billing.resilience.rate_limit.window" in config_error(write(tmp_path, CONFIG))


class _UniqueKeyLoader(yaml.SafeLoader):
    """YAML keeps the last of two equal keys without a word; this loader refuses them."""


def _unique_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode) -> dict[object, object]:
    counts = Counter(str(loader.construct_object(key)) for key, _ in node.value)
    repeated = sorted(key for key, count in counts.items() if count > 1)
    if repeated:
        raise yaml.constructor.ConstructorError(None, None, f"repeated keys {repeated}", node.start_mark)
    return loader.construct_mapping(node)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _unique_mapping)


@pytest.mark.parametrize("name", ["mobius.example.yaml", "mobius.production.example.yaml"])
def test_the_example_configurations_load_with_every_section_once(name: str) -> None:
    path = Path(__file__).resolve().parents[2] / name
    yaml.load(path.read_text(), Loader=_UniqueKeyLoader)  # noqa: S506  # a SafeLoader subclass
    assert load_settings(path).upstreams is not None
