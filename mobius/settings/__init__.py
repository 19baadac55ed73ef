"""Settings: read once from YAML plus ``MOBIUS_*`` environment variables, validated strictly,
then passed in (never imported as a global from deep inside).

``Settings`` is the whole configuration; its sections live by concern in the modules of this
package (``upstreams``, ``callers``, ``cache``, ``server``, ``events``, ``telemetry``) and are
importable from here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import yaml
from pydantic import ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, InitSettingsSource, PydanticBaseSettingsSource, SettingsConfigDict

from clients.registry import registry
from mobius.settings.base import SecretRef
from mobius.settings.cache import (
    CacheL1Settings,
    CacheLockSettings,
    CacheResponseSettings,
    CacheSettings,
    RedisSentinelSettings,
    RedisSettings,
    RedisTlsSettings,
)
from mobius.settings.callers import CallerSettings, InboundAuthSettings, JwtAlgorithm, JwtSettings
from mobius.settings.events import BrokerReconnectSettings, BrokerSettings, EventsSettings, SubscriptionsSettings
from mobius.settings.server import (
    ApqSettings,
    BatchingSettings,
    CorsSettings,
    DeadlineSettings,
    DegradationSettings,
    ExecutionSettings,
    GraphQLSettings,
    HttpSettings,
    InstanceSettings,
    LimitsSettings,
    RuntimeSettings,
    ServerSettings,
    TrustedDocumentsSettings,
)
from mobius.settings.telemetry import LogLevel, LogSettings, MetricsSettings, TelemetrySettings
from mobius.settings.upstreams import (
    AuthSettings,
    BasicAuthSettings,
    BreakerSettings,
    BulkheadSettings,
    HeaderAuthSettings,
    HmacAuthSettings,
    NoAuthSettings,
    OAuth2Settings,
    RateLimitSettings,
    ResilienceSettings,
    RetrySettings,
    TimeoutSettings,
    UpstreamSettings,
    UpstreamsSettings,
    WebhookSettings,
    declared_upstreams_model,
)

__all__ = [
    "ApqSettings",
    "AuthSettings",
    "BasicAuthSettings",
    "BatchingSettings",
    "BreakerSettings",
    "BrokerReconnectSettings",
    "BrokerSettings",
    "BulkheadSettings",
    "CacheL1Settings",
    "CacheLockSettings",
    "CacheResponseSettings",
    "CacheSettings",
    "CallerSettings",
    "ConfigError",
    "CorsSettings",
    "DeadlineSettings",
    "DegradationSettings",
    "EventsSettings",
    "ExecutionSettings",
    "GraphQLSettings",
    "HeaderAuthSettings",
    "HmacAuthSettings",
    "HttpSettings",
    "InboundAuthSettings",
    "InstanceSettings",
    "JwtAlgorithm",
    "JwtSettings",
    "LimitsSettings",
    "LogLevel",
    "LogSettings",
    "MetricsSettings",
    "NoAuthSettings",
    "OAuth2Settings",
    "Posture",
    "RateLimitSettings",
    "RedisSentinelSettings",
    "RedisSettings",
    "RedisTlsSettings",
    "ResilienceSettings",
    "RetrySettings",
    "RuntimeSettings",
    "SecretRef",
    "ServerSettings",
    "Settings",
    "SubscriptionsSettings",
    "TelemetrySettings",
    "TimeoutSettings",
    "TrustedDocumentsSettings",
    "UpstreamSettings",
    "UpstreamsSettings",
    "WebhookSettings",
    "cache_ttls",
    "describe_validation_error",
    "load_settings",
]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MOBIUS_", env_nested_delimiter="__", extra="forbid", frozen=True)

    environment: Literal["development", "production"] = "development"
    server: ServerSettings = ServerSettings()
    http: HttpSettings = HttpSettings()
    graphql: GraphQLSettings = GraphQLSettings()
    limits: LimitsSettings = LimitsSettings()
    redis: RedisSettings = RedisSettings()
    deadline: DeadlineSettings = DeadlineSettings()
    degradation: DegradationSettings = DegradationSettings()
    cache: CacheSettings = CacheSettings()
    if TYPE_CHECKING:
        upstreams: UpstreamsSettings
    else:
        upstreams: declared_upstreams_model()
    callers: list[CallerSettings] = []
    auth: InboundAuthSettings = InboundAuthSettings()
    """How callers are identified: JWTs (``auth.jwt``), besides the static API keys of ``callers``."""
    runtime: RuntimeSettings = RuntimeSettings()
    execution: ExecutionSettings = ExecutionSettings()
    subscriptions: SubscriptionsSettings = SubscriptionsSettings()
    instance: InstanceSettings = InstanceSettings()
    telemetry: TelemetrySettings = TelemetrySettings()
    events: EventsSettings = EventsSettings()

    @model_validator(mode="after")
    def _signing_keys_over_tls_in_production(self) -> Settings:
        jwks_url = self.auth.jwt.jwks_url if self.auth.jwt is not None else None
        if self.environment == "production" and jwks_url is not None and not jwks_url.startswith("https://"):
            raise ValueError(
                "auth.jwt.jwks_url must be https:// in production: keys fetched in the clear can be replaced"
            )
        return self

    @field_validator("cache")
    @classmethod
    def _declared_cache_types(cls, cache: CacheSettings) -> CacheSettings:
        names = {read.name for read in registry().reads}
        unknown = sorted(set(cache.ttl_s) - names)
        if unknown:
            known = ", ".join(sorted(names))
            raise ValueError(f"cache.ttl_s: no cached type is called {', '.join(map(repr, unknown))} (known: {known})")
        return cache

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


def cache_ttls(settings: Settings) -> dict[str, float]:
    """Fresh seconds per cached type: what each read declares, as configured in ``cache.ttl_s``."""
    return {read.name: settings.cache.ttl_s.get(read.name, read.ttl_s) for read in registry().reads}


@dataclass(frozen=True, slots=True, kw_only=True)
class Posture:
    """The switches whose default follows ``environment``, resolved: a development gateway shows
    its schema and GraphiQL; a production one does not, and refuses requests a browser could send
    cross-site without a preflight. Each can be set explicitly."""

    graphiql: bool
    introspection: bool
    suggestions: bool
    csrf_prevention: bool

    @classmethod
    def of(cls, settings: Settings) -> Posture:
        development = settings.environment == "development"

        def resolved(flag: bool | None, *, in_development: bool) -> bool:
            return (in_development if development else not in_development) if flag is None else flag

        return cls(
            graphiql=resolved(settings.server.graphiql, in_development=True),
            introspection=resolved(settings.graphql.introspection, in_development=True),
            suggestions=resolved(settings.graphql.suggestions, in_development=True),
            csrf_prevention=resolved(settings.http.csrf_prevention, in_development=False),
        )


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
        message = error["msg"].removeprefix("Value error, ")
        lines.append(f"  {message}" if message.startswith(f"{key}.") else f"  {key}: {message}")
    return "\n".join(lines)
