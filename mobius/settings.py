"""Settings: read once from YAML plus ``MOBIUS_*`` environment variables, validated strictly,
then passed in (never imported as a global from deep inside)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic_settings import BaseSettings, InitSettingsSource, PydanticBaseSettingsSource, SettingsConfigDict


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SecretRef(_Strict):
    """Where a secret comes from: exactly one of ``value`` (dev only), ``env`` or ``file``."""

    value: str | None = Field(default=None, repr=False)
    env: str | None = None
    file: Path | None = None

    @model_validator(mode="before")
    @classmethod
    def _from_plain_string(cls, data: Any) -> Any:
        return {"value": data} if isinstance(data, str) else data

    @model_validator(mode="after")
    def _exactly_one(self) -> SecretRef:
        if sum(source is not None for source in (self.value, self.env, self.file)) != 1:
            raise ValueError("give exactly one of `value`, `env` or `file`")
        return self


class TimeoutSettings(_Strict):
    connect_s: float = Field(default=1.0, gt=0)
    read_s: float = Field(default=5.0, gt=0)
    total_s: float = Field(default=8.0, gt=0)


class NoAuthSettings(_Strict):
    type: Literal["none"] = "none"


class HeaderAuthSettings(_Strict):
    type: Literal["bearer", "api_key"]
    token: SecretRef
    header: str = "Authorization"
    scheme: str = "Bearer"


class HmacAuthSettings(_Strict):
    type: Literal["api_key_hmac"]
    api_key: SecretRef
    signing_secret: SecretRef
    header: str = "Authorization"
    scheme: str = "Bearer"
    signature_header: str = "Mobius-Signature"


class OAuth2Settings(_Strict):
    type: Literal["oauth2_client_credentials"]
    token_url: str = Field(description="absolute, or a path on the upstream's base URL")
    client_id: str
    client_secret: SecretRef
    scope: str | None = None
    audience: str | None = None
    client_auth: Literal["client_secret_basic", "client_secret_post"] = "client_secret_basic"
    refresh_ratio: float = Field(default=0.8, gt=0, le=1)


AuthSettings = Annotated[
    NoAuthSettings | HeaderAuthSettings | HmacAuthSettings | OAuth2Settings, Field(discriminator="type")
]


class UpstreamSettings(_Strict):
    base_url: str
    graphql_path: str = "/graphql"
    timeouts: TimeoutSettings = TimeoutSettings()
    pool_size: int = Field(default=100, ge=1)
    max_batch_size: int = Field(default=100, ge=1)
    max_fanout: int = Field(default=10, ge=1)
    auth: AuthSettings = NoAuthSettings()


class UpstreamsSettings(_Strict):
    identity: UpstreamSettings
    billing: UpstreamSettings
    projects: UpstreamSettings


class CallerSettings(_Strict):
    """A client of the gateway, recognised by its bearer token."""

    name: str
    token: SecretRef
    scopes: list[str] = []
    user_id: str | None = None


class LimitsSettings(_Strict):
    max_depth: int = Field(default=12, ge=1)
    max_aliases: int = Field(default=30, ge=1)
    max_tokens: int = Field(default=5000, ge=1)
    max_body_bytes: int = Field(default=1_000_000, ge=1024)


class RedisSettings(_Strict):
    """The shared Redis (cache, rate-limit state, pub/sub). Without ``url`` everything runs in-process."""

    url: SecretRef | None = Field(default=None, description="e.g. redis://host:6379/0; may carry a password")
    key_prefix: str = "mobius:"
    socket_timeout_s: float = Field(default=0.05, gt=0)
    connect_timeout_s: float = Field(default=0.2, gt=0)


class ServerSettings(_Strict):
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    graphiql: bool = True
    log_format: Literal["json", "console"] = "json"


class RuntimeSettings(_Strict):
    """Garbage-collector tuning of each server process, applied once start-up is done.

    ``gc_freeze`` moves everything allocated at start-up (modules, schema, clients) out of the
    collector's sight; a higher generation-0 threshold makes young collections rarer, which pays on
    large responses at the price of some memory (measured by ``scripts/bench``).
    """

    gc_freeze: bool = True
    gc_gen0_threshold: int | None = Field(
        default=100_000, ge=1, description="young-generation threshold; None keeps Python's default (700)"
    )


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MOBIUS_", env_nested_delimiter="__", extra="forbid", frozen=True)

    environment: Literal["development", "production"] = "development"
    server: ServerSettings = ServerSettings()
    limits: LimitsSettings = LimitsSettings()
    redis: RedisSettings = RedisSettings()
    upstreams: UpstreamsSettings
    callers: list[CallerSettings] = []
    runtime: RuntimeSettings = RuntimeSettings()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings)


class ConfigError(Exception):
    """A configuration problem, phrased for the operator (names the bad key)."""


def load_settings(path: Path | None = None, **overrides: Any) -> Settings:
    """Settings from explicit overrides, then ``MOBIUS_*`` variables, then the YAML file."""
    document = {} if path is None else _read_yaml(path)
    try:
        return _settings_from(document, overrides)
    except ValidationError as exc:
        raise ConfigError(describe_validation_error(exc)) from None


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: invalid YAML: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from None
    if document is None:
        return {}
    if not isinstance(document, dict):
        raise ConfigError(f"{path}: the top level must be a mapping of settings, not {type(document).__name__}")
    return document


def _settings_from(document: dict[str, Any], overrides: dict[str, Any]) -> Settings:
    class _WithFile(Settings):
        @classmethod
        def settings_customise_sources(
            cls,
            settings_cls: type[BaseSettings],
            init_settings: PydanticBaseSettingsSource,
            env_settings: PydanticBaseSettingsSource,
            dotenv_settings: PydanticBaseSettingsSource,
            file_secret_settings: PydanticBaseSettingsSource,
        ) -> tuple[PydanticBaseSettingsSource, ...]:
            return (init_settings, env_settings, InitSettingsSource(settings_cls, init_kwargs=document))

    return _WithFile(**overrides)


def describe_validation_error(exc: ValidationError) -> str:
    lines = ["invalid configuration:"]
    for error in exc.errors():
        key = ".".join(str(part) for part in error["loc"]) or "(root)"
        lines.append(f"  {key}: {error['msg']}")
    return "\n".join(lines)
