"""Builds the upstream clients (policies, auth, transports) from settings, once."""

from __future__ import annotations

import time
from collections.abc import Callable

from clients.auth import Auth, HeaderAuth, HmacSignedAuth, NoAuth
from clients.billing import BillingClient
from clients.graphql import GraphQLUpstream
from clients.http import HttpUpstream
from clients.identity import IdentityClient
from clients.oauth2 import OAuth2ClientCredentials
from clients.policy import TimeoutPolicy, UpstreamPolicy
from clients.projects import ProjectsClient
from clients.rest import RestClient
from clients.secrets import EnvSecret, FileSecret, SecretSource, StaticSecret
from clients.signing import SignatureScheme
from clients.upstreams import Upstreams
from mobius.settings import (
    AuthSettings,
    HeaderAuthSettings,
    HmacAuthSettings,
    OAuth2Settings,
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
    )


def signature_scheme(auth: HmacAuthSettings) -> SignatureScheme:
    return SignatureScheme(
        algorithm=auth.algorithm,
        header=auth.signature_header,
        header_format=auth.signature_format,
        parts=auth.canonical_parts,
        separator=auth.canonical_separator,
        resync_after_s=auth.clock_resync_after_s,
    )


def build_auth(name: str, base_url: str, auth: AuthSettings, *, clock: Callable[[], float] = time.monotonic) -> Auth:
    """The auth flow for one upstream; ``clock`` (monotonic seconds) times token refreshes."""
    if isinstance(auth, HeaderAuthSettings):
        return HeaderAuth(
            secret_source(auth.token),
            header=auth.header,
            scheme=auth.scheme,
            placement=auth.placement,
            query_param=auth.query_param,
        )
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
        )
    return NoAuth()


def _http(name: str, upstream: UpstreamSettings, clock: Callable[[], float]) -> HttpUpstream:
    return HttpUpstream(build_policy(name, upstream), build_auth(name, upstream.base_url, upstream.auth, clock=clock))


def build_upstreams(settings: Settings, *, clock: Callable[[], float] = time.monotonic) -> Upstreams:
    configured = settings.upstreams
    projects = configured.projects
    return Upstreams(
        identity=IdentityClient(RestClient(_http("identity", configured.identity, clock))),
        billing=BillingClient(RestClient(_http("billing", configured.billing, clock))),
        projects=ProjectsClient(
            GraphQLUpstream(
                build_policy("projects", projects),
                build_auth("projects", projects.base_url, projects.auth, clock=clock),
                path=projects.graphql_path,
            )
        ),
    )
