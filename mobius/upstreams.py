"""Builds the upstream clients (policies, auth, transports) from settings, once."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from time import monotonic
from typing import Any

from clients.auth import Auth, BasicAuth, HeaderAuth, HmacSignedAuth, NoAuth
from clients.http import HttpUpstream, build_pipeline
from clients.oauth2 import OAuth2ClientCredentials
from clients.policy import TimeoutPolicy, UpstreamPolicy
from clients.registry import registry
from clients.resilience.breaker import BreakerPolicy
from clients.resilience.bulkhead import BulkheadPolicy
from clients.resilience.clock import TimeSource
from clients.resilience.pipeline import Pipeline, ResiliencePolicy
from clients.resilience.ratelimit import RateLimitPolicy
from clients.resilience.ratelimit_store import MemoryRateLimitStore, RateLimitStore
from clients.resilience.retry import RetryPolicy
from clients.secrets import EnvSecret, FileSecret, SecretSource, StaticSecret
from clients.signing import SignatureScheme
from clients.upstreams import Connected, Upstreams
from mobius.settings import (
    AuthSettings,
    BasicAuthSettings,
    HeaderAuthSettings,
    HmacAuthSettings,
    OAuth2Settings,
    ResilienceSettings,
    SecretRef,
    Settings,
    UpstreamSettings,
)


def secret_source(ref: SecretRef) -> SecretSource:
    if ref.env is not None:
        return EnvSecret(ref.env)
    if ref.file is not None:
        return FileSecret(ref.file)
    return StaticSecret(ref.value.get_secret_value() if ref.value is not None else "")


def build_policy(name: str, upstream: UpstreamSettings) -> UpstreamPolicy:
    return UpstreamPolicy(
        name=name,
        base_url=upstream.base_url.rstrip("/"),
        timeouts=TimeoutPolicy(
            connect_timeout_s=upstream.timeouts.connect_s,
            read_timeout_s=upstream.timeouts.read_s,
            total_timeout_s=upstream.timeouts.total_s,
        ),
        pool_size=upstream.pool_size,
        max_batch_size=upstream.max_batch_size,
        max_fanout=upstream.max_fanout,
        share_reads=upstream.share_reads,
        graphql_path=upstream.graphql_path,
        resilience=build_resilience(upstream.resilience, credential_id=_credential_id(upstream)),
    )


def build_resilience(settings: ResilienceSettings, *, credential_id: str) -> ResiliencePolicy:
    rate_limit = settings.rate_limit
    return ResiliencePolicy(
        retry=RetryPolicy(**settings.retry.model_dump()),
        breaker=BreakerPolicy(**settings.breaker.model_dump()),
        bulkhead=BulkheadPolicy(**settings.bulkhead.model_dump()),
        rate_limit=RateLimitPolicy(
            limit=rate_limit.limit,
            window_s=rate_limit.window_s,
            window=rate_limit.window,
            burst=rate_limit.burst,
            learn=rate_limit.learn,
            max_wait_s=rate_limit.max_wait_s,
            credential_id=rate_limit.credential_id or credential_id,
        ),
    )


def _credential_id(upstream: UpstreamSettings) -> str:
    """Which quota the upstream counts our calls against: a public name, never a secret."""
    auth = upstream.auth
    return auth.client_id if isinstance(auth, OAuth2Settings) else "default"


def signature_scheme(auth: HmacAuthSettings) -> SignatureScheme:
    return SignatureScheme(
        algorithm=auth.algorithm,
        header=auth.signature_header,
        header_format=auth.signature_format,
        parts=auth.canonical_parts,
        separator=auth.canonical_separator,
        resync_after_s=auth.clock_resync_after_s,
    )


def build_auth(
    name: str,
    base_url: str,
    auth: AuthSettings,
    *,
    clock: Callable[[], float] = monotonic,
    token_guard: Pipeline | None = None,
) -> Auth[Any]:
    """The auth flow for one upstream; ``clock`` (monotonic seconds) times token refreshes and
    ``token_guard`` is the token endpoint's own resilience pipeline."""
    if isinstance(auth, HeaderAuthSettings):
        return HeaderAuth(
            secret_source(auth.token),
            header=auth.header,
            scheme=auth.scheme,
            placement=auth.placement,
            query_param=auth.query_param,
        )
    if isinstance(auth, BasicAuthSettings):
        return BasicAuth(secret_source(auth.username), secret_source(auth.password))
    if isinstance(auth, HmacAuthSettings):
        credential = HeaderAuth(
            secret_source(auth.api_key),
            header=auth.header,
            scheme=auth.scheme,
            placement=auth.placement,
            query_param=auth.query_param,
        )
        return HmacSignedAuth(credential, secret_source(auth.signing_secret), scheme=signature_scheme(auth))
    if isinstance(auth, OAuth2Settings):
        token_url = auth.token_url if "://" in auth.token_url else base_url.rstrip("/") + auth.token_url
        return OAuth2ClientCredentials(
            upstream=name,
            token_url=token_url,
            client_id=auth.client_id,
            client_secret=secret_source(auth.client_secret),
            scope=auth.scope,
            audience=auth.audience,
            client_auth=auth.client_auth,
            refresh_ratio=auth.refresh_ratio,
            clock=clock,
            guard=token_guard,
        )
    return NoAuth()


def build_upstreams(
    settings: Settings, *, rate_limit_store: RateLimitStore | None = None, time: TimeSource | None = None
) -> Upstreams:
    """A client per declared upstream, from its configured vendor, on its own transport, auth and
    pipeline. ``rate_limit_store`` defaults to one in-process store shared by every limiter; pass a
    ``RedisRateLimitStore`` so replicas share quotas. ``time`` injects the clocks, sleep and
    randomness (tests); its monotonic clock also times token refreshes."""
    store = rate_limit_store or MemoryRateLimitStore()
    clock = (time or TimeSource()).monotonic
    declared = registry()
    connected = []
    for name, section in settings.upstreams.items():
        upstream = declared.upstream(name)
        assert upstream is not None, "settings hold declared upstreams only"
        vendor = declared.vendor(upstream, section.vendor)
        policy = build_policy(name, section)
        token_guard = (
            build_pipeline(replace(policy, name=f"{name}-token"), store=store, time=time)
            if isinstance(section.auth, OAuth2Settings)
            else None
        )
        auth = build_auth(name, section.base_url, section.auth, clock=clock, token_guard=token_guard)
        transport = HttpUpstream(policy, auth, rate_limit_store=store, time=time)
        connected.append(
            Connected(upstream=upstream, vendor=vendor, client=vendor.client(transport), transport=transport)
        )
    return Upstreams(connected)
