"""The upstreams' sections: where each one is, how the gateway authenticates to it, its resilience
policy (retry, breaker, bulkhead, rate limit) and its webhooks, over its vendor's declared defaults."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any, Literal

from pydantic import Field, create_model, field_validator, model_validator

from clients.registry import registry
from clients.signing import DEFAULT_FORMAT, DEFAULT_PARTS, FORMAT_FIELDS, CanonicalPart, format_fields
from mobius.settings.base import SecretRef, Strict


class TimeoutSettings(Strict):
    connect_s: float = Field(default=1.0, gt=0)
    read_s: float = Field(default=5.0, gt=0)
    total_s: float = Field(default=8.0, gt=0)


class NoAuthSettings(Strict):
    type: Literal["none"] = "none"


class HeaderAuthSettings(Strict):
    type: Literal["bearer", "api_key"]
    token: SecretRef
    placement: Literal["header", "query"] = "header"
    header: str = "Authorization"
    scheme: str = Field(default="Bearer", description="empty for a bare value, e.g. X-Api-Key: <key>")
    query_param: str = Field(default="api_key", min_length=1, description="used when placement is query")


class BasicAuthSettings(Strict):
    """HTTP Basic; either part may be a secret (some vendors take the API key as the user name)."""

    type: Literal["basic"]
    username: SecretRef
    password: SecretRef


class HmacAuthSettings(Strict):
    type: Literal["api_key_hmac"]
    api_key: SecretRef
    signing_secret: SecretRef
    placement: Literal["header", "query"] = "header"
    header: str = "Authorization"
    scheme: str = "Bearer"
    query_param: str = Field(default="api_key", min_length=1)
    signature_header: str = "Mobius-Signature"
    algorithm: Literal["sha256", "sha512"] = "sha256"
    signature_format: str = Field(default=DEFAULT_FORMAT, description="placeholders {timestamp} and {signature}")
    canonical_parts: tuple[CanonicalPart, ...] = Field(default=DEFAULT_PARTS, min_length=1)
    canonical_separator: str = "."
    clock_resync_after_s: float = Field(default=30.0, gt=0)

    @field_validator("signature_format")
    @classmethod
    def _known_placeholders(cls, template: str) -> str:
        try:
            fields = format_fields(template)
        except ValueError as exc:
            raise ValueError(f"not a format string: {exc}") from None
        if "signature" not in fields or not fields <= FORMAT_FIELDS:
            raise ValueError("use {signature} and optionally {timestamp}, nothing else")
        return template


class OAuth2Settings(Strict):
    type: Literal["oauth2_client_credentials"]
    token_url: str = Field(description="absolute, or a path on the upstream's base URL")
    client_id: str
    client_secret: SecretRef
    scope: str | None = None
    audience: str | None = None
    client_auth: Literal["client_secret_basic", "client_secret_post"] = "client_secret_basic"
    refresh_ratio: float = Field(default=0.8, gt=0, le=1)


AuthSettings = Annotated[
    NoAuthSettings | HeaderAuthSettings | BasicAuthSettings | HmacAuthSettings | OAuth2Settings,
    Field(discriminator="type"),
]


class RetrySettings(Strict):
    """Exponential backoff with full jitter; ``attempts`` counts the first try."""

    attempts: int = Field(default=3, ge=1, le=10)
    base_s: float = Field(default=0.05, gt=0)
    cap_s: float = Field(default=1.0, gt=0)
    max_retry_after_s: float = Field(default=2.0, ge=0)
    budget_ratio: float = Field(default=0.2, ge=0, le=1, description="retries allowed per call made")
    budget_max_tokens: float = Field(default=10.0, ge=0)


class BreakerSettings(Strict):
    """resilience4j's circuit breaker: rates in percent, ``window_size`` in calls or seconds."""

    window: Literal["count", "time"] = "count"
    window_size: int = Field(default=20, ge=1)
    minimum_calls: int = Field(default=10, ge=1)
    failure_rate_threshold: float = Field(default=50.0, gt=0, le=100)
    slow_call_rate_threshold: float = Field(default=100.0, gt=0, le=100)
    slow_call_s: float = Field(default=5.0, gt=0)
    open_s: float = Field(default=30.0, gt=0)
    half_open_probes: int = Field(default=3, ge=1)
    fleet: bool = Field(default=True, description="with Redis: opens, probes and closes once for every gateway process")


class BulkheadSettings(Strict):
    max_concurrent: int = Field(default=100, ge=1)
    max_queue: int = Field(default=100, ge=0)
    max_wait_s: float = Field(default=0.5, ge=0)


class RateLimitSettings(Strict):
    """A static quota (``limit`` per ``window_s``) and/or what the upstream's headers teach; no
    ``window`` of the upstream's kind ever gets more than the quota, across replicas."""

    limit: int | None = Field(default=None, ge=1)
    window_s: float = Field(default=1.0, gt=0)
    window: Literal["fixed", "sliding"] = Field(
        default="sliding",
        description="how the upstream counts: fixed windows aligned to window_s, or any window_s (holds for both)",
    )
    burst: int | None = Field(default=None, ge=1, description="at most this many back to back; default: no pacing")
    learn: bool = True
    max_wait_s: float = Field(default=0.0, ge=0)
    credential_id: str | None = Field(
        default=None, description="names the quota's credential (never the secret); default: client id or 'default'"
    )


class ResilienceSettings(Strict):
    retry: RetrySettings = RetrySettings()
    breaker: BreakerSettings = BreakerSettings()
    bulkhead: BulkheadSettings = BulkheadSettings()
    rate_limit: RateLimitSettings = RateLimitSettings()


class WebhookSettings(Strict):
    """The secret an upstream signs its webhooks with; ``previous_secret`` is also accepted while the
    upstream rotates (re-read like every secret reference, so a rotation needs no restart)."""

    secret: SecretRef
    previous_secret: SecretRef | None = None
    max_body_bytes: int = Field(default=256 * 1024, ge=1024, le=16 * 1024 * 1024)


class UpstreamSettings(Strict):
    base_url: str
    vendor: str | None = Field(default=None, description="the API serving this slot; default: the one named like it")
    graphql_path: str = "/graphql"
    timeouts: TimeoutSettings = TimeoutSettings()
    pool_size: int = Field(default=100, ge=1)
    max_batch_size: int = Field(default=100, ge=1)
    max_fanout: int = Field(default=10, ge=1)
    share_reads: bool = False
    """Identical reads in flight at the same moment share one upstream call (``clients.shared_reads``)."""
    auth: AuthSettings = NoAuthSettings()
    resilience: ResilienceSettings = ResilienceSettings()
    webhook: WebhookSettings | None = None
    """Accept this upstream's signed webhooks at ``POST /webhooks/<name>`` (docs/events.md)."""


class UpstreamsSettings(Strict):
    """One section per declared upstream, by name (``clients.registry``): a missing one, an unknown
    one, a vendor that does not serve the slot or an auth kind the vendor does not accept is an
    error naming the key. Each section starts from its vendor's declared defaults."""

    def __getitem__(self, name: str) -> UpstreamSettings:
        section: UpstreamSettings = getattr(self, name)
        return section

    def items(self) -> Iterator[tuple[str, UpstreamSettings]]:
        for name in type(self).model_fields:
            yield name, self[name]

    @model_validator(mode="before")
    @classmethod
    def _vendor_defaults(cls, sections: Any) -> Any:
        if not isinstance(sections, dict):
            return sections
        declared = registry()
        merged = dict(sections)
        for name, section in sections.items():
            upstream = declared.upstream(name)
            if upstream is None or not isinstance(section, dict):
                continue
            vendor_name = section.get("vendor")
            try:
                vendor = declared.vendor(upstream, vendor_name if isinstance(vendor_name, str) else None)
            except KeyError:
                continue
            merged[name] = _deep_merge(dict(vendor.defaults), section)
        return merged

    @model_validator(mode="after")
    def _declared_kinds(self) -> UpstreamsSettings:
        declared = registry()
        for name, section in self.items():
            upstream = declared.upstream(name)
            assert upstream is not None
            try:
                vendor = declared.vendor(upstream, section.vendor)
            except KeyError:
                vendors = ", ".join(vendor.name for vendor in declared.vendors_of(upstream))
                raise ValueError(
                    f"upstreams.{name}.vendor: {section.vendor!r} does not serve {name!r} (its vendors: {vendors})"
                ) from None
            if section.auth.type not in vendor.auth:
                raise ValueError(
                    f"upstreams.{name}.auth.type: {vendor.name!r} accepts {', '.join(vendor.auth)},"
                    f" not {section.auth.type!r}"
                )
        return self


def declared_upstreams_model() -> type[UpstreamsSettings]:
    """``UpstreamsSettings`` with a required field per declared upstream."""
    fields: dict[str, Any] = {upstream.name: (UpstreamSettings, ...) for upstream in registry().upstreams}
    return create_model("UpstreamsSettings", __base__=UpstreamsSettings, **fields)


def _deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            base[key] = _deep_merge(dict(base[key]), value)
        else:
            base[key] = value
    return base
