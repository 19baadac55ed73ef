"""Settings: read once from YAML plus ``MOBIUS_*`` environment variables, validated strictly,
then passed in (never imported as a global from deep inside)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    create_model,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, InitSettingsSource, PydanticBaseSettingsSource, SettingsConfigDict

from clients.registry import registry
from clients.signing import DEFAULT_FORMAT, DEFAULT_PARTS, FORMAT_FIELDS, CanonicalPart, format_fields


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SecretRef(_Strict):
    """Where a secret comes from: exactly one of ``value`` (dev only), ``env`` or ``file``.

    ``value`` is a ``SecretStr``: masked in ``repr``, ``str`` and JSON dumps.
    """

    value: SecretStr | None = Field(default=None, repr=False)
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
    placement: Literal["header", "query"] = "header"
    header: str = "Authorization"
    scheme: str = Field(default="Bearer", description="empty for a bare value, e.g. X-Api-Key: <key>")
    query_param: str = Field(default="api_key", min_length=1, description="used when placement is query")


class BasicAuthSettings(_Strict):
    """HTTP Basic; either part may be a secret (some vendors take the API key as the user name)."""

    type: Literal["basic"]
    username: SecretRef
    password: SecretRef


class HmacAuthSettings(_Strict):
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
    NoAuthSettings | HeaderAuthSettings | BasicAuthSettings | HmacAuthSettings | OAuth2Settings,
    Field(discriminator="type"),
]


class RetrySettings(_Strict):
    """Exponential backoff with full jitter; ``attempts`` counts the first try."""

    attempts: int = Field(default=3, ge=1, le=10)
    base_s: float = Field(default=0.05, gt=0)
    cap_s: float = Field(default=1.0, gt=0)
    max_retry_after_s: float = Field(default=2.0, ge=0)
    budget_ratio: float = Field(default=0.2, ge=0, le=1, description="retries allowed per call made")
    budget_max_tokens: float = Field(default=10.0, ge=0)


class BreakerSettings(_Strict):
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


class BulkheadSettings(_Strict):
    max_concurrent: int = Field(default=100, ge=1)
    max_queue: int = Field(default=100, ge=0)
    max_wait_s: float = Field(default=0.5, ge=0)


class RateLimitSettings(_Strict):
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


class ResilienceSettings(_Strict):
    retry: RetrySettings = RetrySettings()
    breaker: BreakerSettings = BreakerSettings()
    bulkhead: BulkheadSettings = BulkheadSettings()
    rate_limit: RateLimitSettings = RateLimitSettings()


class DeadlineSettings(_Strict):
    """Every GraphQL request gets ``default_s``; a client may ask for less with the header."""

    default_s: float = Field(default=10.0, gt=0)
    header: str = "Mobius-Deadline-Ms"


class DegradationSettings(_Strict):
    """Field coordinates whose fallback (declared in schema/fallbacks.py) is used when their
    upstream is unavailable; the error is still reported."""

    fallbacks: list[str] = ["BillingAccount.invoices"]


class WebhookSettings(_Strict):
    """The secret an upstream signs its webhooks with; ``previous_secret`` is also accepted while the
    upstream rotates (re-read like every secret reference, so a rotation needs no restart)."""

    secret: SecretRef
    previous_secret: SecretRef | None = None
    max_body_bytes: int = Field(default=256 * 1024, ge=1024, le=16 * 1024 * 1024)


class UpstreamSettings(_Strict):
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


class UpstreamsSettings(_Strict):
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


def _declared_upstreams_model() -> type[UpstreamsSettings]:
    """``UpstreamsSettings`` with a required field per declared upstream."""
    fields: dict[str, Any] = {upstream.name: (UpstreamSettings, ...) for upstream in registry().upstreams}
    return create_model("UpstreamsSettings", __base__=UpstreamsSettings, **fields)


class CallerSettings(_Strict):
    """A client of the gateway, recognised by its bearer token."""

    name: str
    token: SecretRef
    scopes: list[str] = []
    user_id: str | None = None


JwtAlgorithm = Literal["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"]
"""Asymmetric algorithms only: an HMAC algorithm would let anyone holding the public key sign."""


class JwtSettings(_Strict):
    """Callers identified by JWT bearer tokens, verified against the keys of a JWKS (a URL or a file).

    ``scopes_claim`` may hold a space-separated string (``scope``) or a list (``scp``, ``scopes``).
    The caller's name is the first of ``name_claims`` the token carries, else its user id.
    """

    jwks_url: str | None = Field(default=None, description="e.g. https://idp.example/.well-known/jwks.json")
    jwks_file: Path | None = Field(default=None, description="a JWKS document on disk, re-read when it changes")
    issuer: str = Field(min_length=1, description="the exact `iss` accepted")
    audiences: list[str] = Field(min_length=1, description="tokens must name one of these in `aud`")
    algorithms: list[JwtAlgorithm] = Field(default=["RS256", "ES256"], min_length=1)
    leeway_s: float = Field(default=30.0, ge=0, le=300, description="clock skew allowed on `exp`, `nbf`, `iat`")
    scopes_claim: str = "scope"
    user_id_claim: str = "sub"
    name_claims: list[str] = ["client_id", "azp"]
    max_token_bytes: int = Field(default=8192, ge=256, le=65536, description="longer tokens are refused unread")
    verified_cache_size: int = Field(
        default=4096, ge=0, description="callers of recently verified tokens kept until expiry or a key change; 0: off"
    )
    jwks_cache_s: float = Field(default=300.0, gt=0, description="keys older than this are refetched")
    jwks_refresh_min_interval_s: float = Field(
        default=10.0, ge=0, description="at most one fetch per interval for tokens signed by an unknown key"
    )
    jwks_timeout_s: float = Field(default=2.0, gt=0)
    jwks_max_bytes: int = Field(default=256 * 1024, ge=1024)

    @model_validator(mode="after")
    def _one_key_source(self) -> JwtSettings:
        if (self.jwks_url is None) == (self.jwks_file is None):
            raise ValueError("give exactly one of `jwks_url` or `jwks_file`")
        if self.jwks_url is not None and not self.jwks_url.startswith(("https://", "http://")):
            raise ValueError("`jwks_url` must be an http(s) URL")
        return self


class InboundAuthSettings(_Strict):
    """How the gateway's own callers are identified (besides the static API keys in ``callers``)."""

    jwt: JwtSettings | None = None


class LimitsSettings(_Strict):
    """Operation limits (docs/limits.md), measured in one linear pass over a document."""

    max_depth: int = Field(default=12, ge=1)
    max_aliases: int = Field(default=30, ge=1)
    max_root_fields: int = Field(default=30, ge=1)
    max_directives: int = Field(default=50, ge=1)
    max_fields: int = Field(default=2000, ge=1, description="fields after fragment expansion")
    max_cost: int = Field(default=500, ge=1, description="upstream requests an operation may cost")
    max_tokens: int = Field(default=5000, ge=1)
    max_body_bytes: int = Field(default=1_000_000, ge=1024)


class RedisTlsSettings(_Strict):
    """For ``rediss://``: the CA that signed the server's certificate and, where the server asks for
    one, the gateway's client certificate (files, re-read when a connection is made)."""

    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    check_hostname: bool = True


class RedisSentinelSettings(_Strict):
    """Redis Sentinel: ask the sentinels which server is the master of ``master``. ``redis.url`` then
    gives the master's user, password, database and scheme (``rediss://`` for TLS); its host is not used."""

    master: str = Field(min_length=1, description="the name the sentinels monitor the master under")
    nodes: list[str] = Field(min_length=1, description="host:port of each sentinel")
    username: str | None = Field(default=None, description="the sentinels' own ACL user, if they have one")
    password: SecretRef | None = Field(default=None, description="the sentinels' own password, if they have one")
    tls: bool = Field(default=False, description="the sentinels themselves speak TLS")

    @field_validator("nodes")
    @classmethod
    def _host_and_port(cls, nodes: list[str]) -> list[str]:
        for node in nodes:
            host, sep, port = node.rpartition(":")
            if not sep or not host or not port.isdigit():
                raise ValueError(f"a sentinel is written host:port, not {node!r}")
        return nodes


class RedisSettings(_Strict):
    """The shared Redis (cache, rate-limit state, pub/sub, fleet state). Without ``url`` everything runs
    in-process. One node, a Redis Cluster (detected from the server at start, or forced with ``cluster``)
    or a master found through Sentinel."""

    url: SecretRef | None = Field(
        default=None, description="e.g. redis://host:6379/0 or rediss://user:password@host:6380/0"
    )
    cluster: bool | None = Field(
        default=None, description="null: ask the server at start (INFO cluster); true/false: insist, checked at start"
    )
    sentinel: RedisSentinelSettings | None = None
    tls: RedisTlsSettings = RedisTlsSettings()
    key_prefix: str = "mobius:"
    socket_timeout_s: float = Field(default=0.05, gt=0)
    connect_timeout_s: float = Field(default=0.2, gt=0)

    @model_validator(mode="after")
    def _one_topology(self) -> RedisSettings:
        if self.sentinel is not None and self.cluster:
            raise ValueError("redis.sentinel and redis.cluster: true exclude each other (Sentinel serves one master)")
        if self.sentinel is not None and self.url is None:
            raise ValueError("redis.sentinel needs redis.url for the master's user, password and database")
        return self


class CacheL1Settings(_Strict):
    """The in-process first level in front of the store (Redis, or the in-process store: decoded values)."""

    enabled: bool = True
    max_entries: int = Field(default=10_000, ge=1)
    max_bytes: int = Field(default=32 * 1024 * 1024, ge=1024)
    ttl_s: float = Field(default=5.0, gt=0, description="bounds how long another replica's invalidation can be missed")


class CacheLockSettings(_Strict):
    """A short Redis lock per missed key so that replicas do not stampede a hot key (with Redis only:
    in one process concurrent misses already share one fetch)."""

    enabled: bool = True
    ttl_s: float = Field(default=2.0, gt=0)
    wait_s: float = Field(default=0.25, ge=0)


class CacheResponseSettings(_Strict):
    """Whole GraphQL responses of query operations, keyed by document, variables and caller, tagged
    with the entities they were built from. Opt-in; only active when the cache itself is enabled."""

    enabled: bool = False
    max_ttl_s: float = Field(default=60.0, gt=0, description="capped further by the freshness its entries have left")
    max_entry_bytes: int = Field(default=1_000_000, ge=1024, description="larger responses are served, not stored")
    l1: CacheL1Settings = CacheL1Settings(max_entries=1_000)


class CacheSettings(_Strict):
    """Read-through cache behind the loaders: Redis when ``redis.url`` is set, else in-process."""

    enabled: bool = True
    ttl_s: dict[str, Annotated[float, Field(gt=0)]] = Field(
        default={}, description="fresh seconds per cached type, over the defaults its upstream declares"
    )
    jitter_ratio: float = Field(default=0.1, ge=0, lt=1)
    stale_while_revalidate_s: float = Field(default=30.0, ge=0)
    stale_if_error_s: float = Field(default=600.0, ge=0)
    negative_ttl_s: float = Field(default=10.0, gt=0)
    l1: CacheL1Settings = CacheL1Settings()
    lock: CacheLockSettings = CacheLockSettings()
    in_process_max_entries: int = Field(default=100_000, ge=1)
    breaker_failures: int = Field(default=3, ge=1, description="consecutive Redis failures that open its breaker")
    breaker_reset_s: float = Field(default=5.0, gt=0, description="how long Redis is skipped before one probe")
    credential_scopes: dict[str, str] = Field(
        default={}, description="per upstream, a name for the credential its answers depend on (never the secret)"
    )
    response: CacheResponseSettings = CacheResponseSettings()
    fence_s: float = Field(
        default=30.0,
        gt=0,
        description="an invalidation refuses writes of what it dropped whose fetch started before it, for this long",
    )
    clock_skew_s: float = Field(
        default=0.1, ge=0, description="the most the replicas' clocks may differ; fences reach back this far"
    )


class ServerSettings(_Strict):
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    graphiql: bool | None = Field(default=None, description="default: on in development, off in production")
    log_format: Literal["json", "console"] = "json"
    drain_s: int = Field(
        default=20, ge=1, description="on SIGTERM, seconds requests in flight may take before the process exits"
    )


class InstanceSettings(_Strict):
    """How this process names itself in answers and in the fleet view (``<name>:<pid>``)."""

    name: str | None = Field(default=None, description="e.g. the pod's name; default: the host name")
    report_s: float = Field(
        default=5.0, gt=0, description="how often it publishes its state to the fleet view (with Redis)"
    )


class CorsSettings(_Strict):
    """Cross-origin access to ``/graphql`` from browsers; nothing is allowed while ``allow_origins``
    is empty. ``"*"`` allows any origin (never together with credentials)."""

    allow_origins: list[str] = []
    allow_credentials: bool = False
    allow_headers: list[str] = [
        "Content-Type",
        "Authorization",
        "Apollo-Require-Preflight",
        "X-Apollo-Operation-Name",
        "GraphQL-Require-Preflight",
        "X-Mobius-CSRF",
    ]
    """The deadline header (``deadline.header``) is allowed too."""
    expose_headers: list[str] = ["Mobius-Cache"]
    max_age_s: int = Field(default=600, ge=0, description="how long a browser may reuse a preflight answer")

    @model_validator(mode="after")
    def _no_wildcard_with_credentials(self) -> CorsSettings:
        if self.allow_credentials and "*" in self.allow_origins:
            raise ValueError("allow_credentials needs explicit origins, not '*'")
        return self


class BatchingSettings(_Strict):
    """A JSON array of requests in one ``POST``; each entry is admitted like a single request."""

    enabled: bool = False
    max_operations: int = Field(default=10, ge=1, le=100)


class HttpSettings(_Strict):
    """The ``/graphql`` endpoint's HTTP rules (docs/http.md)."""

    csrf_prevention: bool | None = Field(
        default=None, description="refuse requests a browser sends without a preflight; default: on in production"
    )
    csrf_headers: list[str] = Field(
        default=["Apollo-Require-Preflight", "X-Apollo-Operation-Name", "GraphQL-Require-Preflight", "X-Mobius-CSRF"],
        min_length=1,
        description="any one of these (non-empty) marks a request as not a browser's simple request",
    )
    cors: CorsSettings = CorsSettings()
    batching: BatchingSettings = BatchingSettings()


class ApqSettings(_Strict):
    """Automatic persisted queries (Apollo's ``extensions.persistedQuery``): documents registered
    by hash, kept in the cache store (in-process without the cache)."""

    enabled: bool = True
    ttl_s: float = Field(default=86_400.0, gt=0)
    max_query_bytes: int = Field(default=100_000, ge=1, description="longer documents run but are not registered")
    local_entries: int = Field(default=1_000, ge=1, description="registered documents each process keeps in memory")


class TrustedDocumentsSettings(_Strict):
    """Only registered operations run: a manifest of ``sha256:<hex>`` ids (Apollo's persisted query
    manifest or GraphQL Codegen's ``persisted-documents.json``), re-read when the file changes."""

    manifest: Path | None = None
    require_id: bool = Field(
        default=False, description="refuse a document sent as text even when it is in the manifest"
    )


class GraphQLSettings(_Strict):
    """What the GraphQL endpoint reveals about the schema, and which documents it runs."""

    introspection: bool | None = Field(default=None, description="default: on in development, off in production")
    suggestions: bool | None = Field(
        default=None, description='"Did you mean ...?" in errors; default: on in development, off in production'
    )
    apq: ApqSettings = ApqSettings()
    trusted_documents: TrustedDocumentsSettings = TrustedDocumentsSettings()


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


class ExecutionSettings(_Strict):
    """How operations are executed (docs/execution.md).

    ``planned`` (the default) runs them on the planned executor (``schema.execution``) with
    streamlined resolvers (``schema.streamline``); off, on graphql-core's and Strawberry's stock
    machinery alone. Both answer the same; the planned one costs less CPU but relies on internals
    of the pinned graphql-core and Strawberry releases, so it can be switched off without a deploy.
    """

    planned: bool = True


class SubscriptionsSettings(_Strict):
    """GraphQL subscriptions over WebSocket and Server-Sent Events (docs/subscriptions.md)."""

    enabled: bool = True
    buffer: int = Field(
        default=256, ge=1, le=100_000, description="events queued per subscriber; past it the subscriber is dropped"
    )
    heartbeat_s: float = Field(default=15.0, gt=0, le=3600, description="ping (WebSocket) or comment (SSE) interval")
    max_per_connection: int = Field(default=20, ge=1, le=1000, description="operations at once on one WebSocket")
    connection_init_timeout_s: float = Field(
        default=10.0, gt=0, le=600, description="a WebSocket must send connection_init within this"
    )


LogLevel = Literal["debug", "info", "warning", "error", "critical"]


class MetricsSettings(_Strict):
    enabled: bool = Field(default=True, description="record metrics and serve them at `path`")
    path: str = Field(default="/metrics", pattern=r"^/[A-Za-z0-9/_.-]*$")
    operation_names: int = Field(
        default=200, ge=0, le=10_000, description="distinct operation names labelled per process; later ones: other"
    )
    multiprocess_dir: Path | None = Field(
        default=None,
        description="with --workers N: where workers keep their values (emptied at start; default: a temporary one)",
    )


class LogSettings(_Strict):
    level: LogLevel = "info"
    levels: dict[str, LogLevel] = Field(
        default={}, description="per logger name (and the loggers below it), e.g. {mobius.requests: warning}"
    )
    requests: bool = Field(default=True, description="one `request` event per GraphQL request")


class BrokerReconnectSettings(_Strict):
    """Backoff between connection attempts: ``initial_s`` doubling up to ``max_s``, each wait drawn
    at random from its upper ``jitter`` fraction (so a fleet does not reconnect in step)."""

    initial_s: float = Field(default=0.5, gt=0)
    max_s: float = Field(default=30.0, gt=0)
    multiplier: float = Field(default=2.0, ge=1)
    jitter: float = Field(default=0.5, ge=0, le=1)


class BrokerSettings(_Strict):
    """The projects upstream's issue events from a RabbitMQ topic exchange (docs/events-broker.md).

    Off by default: the demo takes its events by webhook and needs no broker."""

    enabled: bool = False
    url: SecretRef | None = Field(
        default=None, description="amqp://user:password@host:5672/vhost; read anew at every reconnect"
    )
    exchange: str = Field(default="projects.events", min_length=1, max_length=255)
    queue: str = Field(
        default="mobius.projects.issues",
        min_length=1,
        max_length=200,
        description="a durable quorum queue; poison messages go to <queue>.dead",
    )
    routing_keys: tuple[str, ...] = Field(default=("projects.issue.*",), min_length=1)
    prefetch: int = Field(default=64, ge=1, le=10_000)
    max_message_bytes: int = Field(default=65_536, ge=256, le=16 * 1024 * 1024)
    connect_timeout_s: float = Field(default=5.0, gt=0)
    reconnect: BrokerReconnectSettings = BrokerReconnectSettings()

    @model_validator(mode="after")
    def _url_when_enabled(self) -> BrokerSettings:
        if self.enabled and self.url is None:
            raise ValueError("events.broker.enabled needs events.broker.url")
        return self


class EventsSettings(_Strict):
    """The event path (docs/events.md): webhook intake, the durable stream and its worker."""

    worker: bool = Field(default=True, description="run the stream's worker inside demo and serve")
    tolerance_s: float = Field(default=300.0, gt=0, le=3600, description="webhook timestamps this far off are refused")
    replay_ttl_s: float = Field(default=900.0, gt=0, description="how long an event id is remembered")
    version_ttl_s: float = Field(default=7 * 86400.0, gt=0, description="how long an entity's applied version is kept")
    batch: int = Field(default=100, ge=1, le=10_000)
    block_s: float = Field(default=1.0, gt=0, le=60)
    claim_idle_s: float = Field(default=30.0, gt=0, description="unacknowledged this long: another consumer takes over")
    max_deliveries: int = Field(default=5, ge=1, le=1000, description="failures before an event is dead-lettered")
    broker: BrokerSettings = BrokerSettings()

    @model_validator(mode="after")
    def _replay_outlives_tolerance(self) -> EventsSettings:
        if self.replay_ttl_s <= 2 * self.tolerance_s:
            raise ValueError(
                "events.replay_ttl_s must exceed twice events.tolerance_s: a replay within the timestamp "
                "tolerance must still find its id"
            )
        return self


class TelemetrySettings(_Strict):
    """Metrics and logs; traces are configured by the standard ``OTEL_*`` variables (docs/observability.md)."""

    metrics: MetricsSettings = MetricsSettings()
    logs: LogSettings = LogSettings()


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
        upstreams: _declared_upstreams_model()
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


def _deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            base[key] = _deep_merge(dict(base[key]), value)
        else:
            base[key] = value
    return base


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
