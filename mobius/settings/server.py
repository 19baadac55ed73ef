"""How requests are served: the HTTP server and endpoint rules, what the GraphQL endpoint runs and
reveals, operation limits, deadlines, degradation, execution and the runtime's tuning."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from mobius.settings.base import Strict


class ServerSettings(Strict):
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    graphiql: bool | None = Field(default=None, description="default: on in development, off in production")
    log_format: Literal["json", "console"] = "json"
    drain_s: int = Field(
        default=20, ge=1, description="on SIGTERM, seconds requests in flight may take before the process exits"
    )
    keep_alive_s: int = Field(
        default=75,
        ge=1,
        description="seconds an idle client connection stays open; longer than a balancer's idle limit (nginx 60 s)"
        " so the balancer closes first and never sends a request on a connection being closed",
    )


class InstanceSettings(Strict):
    """How this process names itself in answers and in the fleet view (``<name>:<pid>``)."""

    name: str | None = Field(default=None, description="e.g. the pod's name; default: the host name")
    report_s: float = Field(
        default=5.0, gt=0, description="how often it publishes its state to the fleet view (with Redis)"
    )


class CorsSettings(Strict):
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


class BatchingSettings(Strict):
    """A JSON array of requests in one ``POST``; each entry is admitted like a single request."""

    enabled: bool = False
    max_operations: int = Field(default=10, ge=1, le=100)


class HttpSettings(Strict):
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


class ApqSettings(Strict):
    """Automatic persisted queries (Apollo's ``extensions.persistedQuery``): documents registered
    by hash, kept in the cache store (in-process without the cache)."""

    enabled: bool = True
    ttl_s: float = Field(default=86_400.0, gt=0)
    max_query_bytes: int = Field(default=100_000, ge=1, description="longer documents run but are not registered")
    local_entries: int = Field(default=1_000, ge=1, description="registered documents each process keeps in memory")


class TrustedDocumentsSettings(Strict):
    """Only registered operations run: a manifest of ``sha256:<hex>`` ids (Apollo's persisted query
    manifest or GraphQL Codegen's ``persisted-documents.json``), re-read when the file changes."""

    manifest: Path | None = None
    require_id: bool = Field(
        default=False, description="refuse a document sent as text even when it is in the manifest"
    )


class GraphQLSettings(Strict):
    """What the GraphQL endpoint reveals about the schema, and which documents it runs."""

    introspection: bool | None = Field(default=None, description="default: on in development, off in production")
    suggestions: bool | None = Field(
        default=None, description='"Did you mean ...?" in errors; default: on in development, off in production'
    )
    apq: ApqSettings = ApqSettings()
    trusted_documents: TrustedDocumentsSettings = TrustedDocumentsSettings()


class RuntimeSettings(Strict):
    """Garbage-collector tuning of each server process, applied once start-up is done.

    ``gc_freeze`` moves everything allocated at start-up (modules, schema, clients) out of the
    collector's sight; a higher generation-0 threshold makes young collections rarer, which pays on
    large responses at the price of some memory (measured by ``scripts/bench``).
    """

    gc_freeze: bool = True
    gc_gen0_threshold: int | None = Field(
        default=100_000, ge=1, description="young-generation threshold; None keeps Python's default (700)"
    )


class ExecutionSettings(Strict):
    """How operations are executed (docs/execution.md).

    ``planned`` (the default) runs them on the planned executor (``schema.execution``) with
    streamlined resolvers (``schema.streamline``); off, on graphql-core's and Strawberry's stock
    machinery alone. Both answer the same; the planned one costs less CPU but relies on internals
    of the pinned graphql-core and Strawberry releases, so it can be switched off without a deploy.
    """

    planned: bool = True


class LimitsSettings(Strict):
    """Operation limits (docs/limits.md), measured in one linear pass over a document."""

    max_depth: int = Field(default=12, ge=1)
    max_aliases: int = Field(default=30, ge=1)
    max_root_fields: int = Field(default=30, ge=1)
    max_directives: int = Field(default=50, ge=1)
    max_fields: int = Field(default=2000, ge=1, description="fields after fragment expansion")
    max_cost: int = Field(default=500, ge=1, description="upstream requests an operation may cost")
    max_tokens: int = Field(default=5000, ge=1)
    max_body_bytes: int = Field(default=1_000_000, ge=1024)


class DeadlineSettings(Strict):
    """Every GraphQL request gets ``default_s``; a client may ask for less with the header."""

    default_s: float = Field(default=10.0, gt=0)
    header: str = "Mobius-Deadline-Ms"


class DegradationSettings(Strict):
    """Field coordinates whose fallback (declared in schema/fallbacks.py) is used when their
    upstream is unavailable; the error is still reported."""

    fallbacks: list[str] = ["BillingAccount.invoices"]
