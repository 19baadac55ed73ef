"""The cache (``resolvers.cache``) as configured: engine + store (Redis, or in-process without
``redis.url``) + the subscriber that applies other replicas' invalidations, and the response cache
on the same store."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Sequence
from importlib.metadata import version as package_version
from typing import Any

import orjson

from clients.registry import registry
from mobius.redis import RedisTarget, create_redis, create_subscriber
from mobius.settings import OAuth2Settings, Settings, cache_ttls
from resolvers.cache import (
    CacheEngine,
    CachePolicy,
    CacheRuntime,
    CacheType,
    InProcessStore,
    InvalidationListener,
    L1Policy,
    LockPolicy,
    RedisStore,
    ResponseCache,
    ResponsePolicy,
    store_breaker,
)
from resolvers.loaders import cache_type


def credential_scopes(settings: Settings) -> dict[str, str]:
    """Which credential each upstream answers for: the OAuth2 client (and scope), else the auth
    type; ``cache.credential_scopes`` names it explicitly. Never a secret."""
    scopes = {}
    for name, upstream in settings.upstreams.items():
        auth = upstream.auth
        if isinstance(auth, OAuth2Settings):
            scopes[name] = "+".join(part for part in (auth.client_id, auth.scope, auth.audience) if part)
        else:
            scopes[name] = auth.type
    return {**scopes, **settings.cache.credential_scopes}


def configured_cache_types(settings: Settings) -> tuple[CacheType[Any, Any], ...]:
    """Every read's cache type as the configured vendors serve them (what ``Reads`` derives from the
    built clients), for tools that need the cache without the upstreams."""
    declared = registry()
    types: list[CacheType[Any, Any]] = []
    for name, section in settings.upstreams.items():
        upstream = declared.upstream(name)
        assert upstream is not None
        vendor = declared.vendor(upstream, section.vendor).name
        types.extend(
            cache_type(read, upstream=name, vendor=None if vendor == name else vendor) for read in upstream.reads
        )
    return tuple(types)


def cache_policy(settings: Settings, *, shared: bool) -> CachePolicy:
    """``shared``: on Redis, with locks against other replicas (in one process, concurrent misses
    already share one fetch, so a lock would only cost). The L1 is in front of either store: the
    in-process store keeps entries in their wire form, and a hit there decodes and validates the
    payload again, where an L1 hit hands out the value it already holds."""
    cache = settings.cache
    return CachePolicy(
        ttl_s=cache_ttls(settings),
        jitter_ratio=cache.jitter_ratio,
        stale_while_revalidate_s=cache.stale_while_revalidate_s,
        stale_if_error_s=cache.stale_if_error_s,
        negative_ttl_s=cache.negative_ttl_s,
        l1=L1Policy(max_entries=cache.l1.max_entries, max_bytes=cache.l1.max_bytes, ttl_s=cache.l1.ttl_s)
        if cache.l1.enabled
        else None,
        lock=LockPolicy(enabled=shared and cache.lock.enabled, ttl_s=cache.lock.ttl_s, wait_s=cache.lock.wait_s),
        fence_s=cache.fence_s,
        clock_skew_s=cache.clock_skew_s if shared else 0.0,  # one process, one clock
    )


def build_cache(
    settings: Settings,
    types: Sequence[CacheType[Any, Any]],
    target: RedisTarget | None,
    *,
    clock: Callable[[], float] | None = None,
) -> CacheRuntime | None:
    """The cache of ``types`` (every read's, as configured); ``None`` when ``cache.enabled`` is false;
    on Redis when ``target`` is given, else in-process.
    ``clock`` (seconds) judges freshness; tests inject one."""
    if not settings.cache.enabled:
        return None
    if target is None:
        store = InProcessStore(max_entries=settings.cache.in_process_max_entries, clock=clock or time.time)
        engine = CacheEngine(
            store=store,
            policy=cache_policy(settings, shared=False),
            types=types,
            scopes=credential_scopes(settings),
            clock=clock or time.time,
        )
        return CacheRuntime(engine=engine, store=store)
    redis = settings.redis
    breaker = store_breaker(
        failure_threshold=settings.cache.breaker_failures,
        reset_after_s=settings.cache.breaker_reset_s,
        clock=clock or time.monotonic,
    )
    redis_store = RedisStore(
        create_redis(target),
        prefix=redis.key_prefix,
        op_timeout_s=redis.connect_timeout_s + redis.socket_timeout_s,
        breaker=breaker,
    )
    engine = CacheEngine(
        store=redis_store,
        policy=cache_policy(settings, shared=True),
        types=types,
        scopes=credential_scopes(settings),
        clock=clock or time.time,
    )
    listener = InvalidationListener(
        create_subscriber(target),
        redis_store.channel,
        evict=engine.evict_local,
        clear=engine.clear_local,
        origin=redis_store.origin,
    )
    return CacheRuntime(engine=engine, store=redis_store, listener=listener, redis_store=redis_store)


def response_version(settings: Settings, sdl: str) -> str:
    """What a stored response's shape depends on besides its request: the schema, the gateway's
    release and the upstream credentials answers are read with. A deploy that changes any of them
    reads none of the old responses."""
    material = orjson.dumps([sdl, package_version("mobius-gateway"), credential_scopes(settings)])
    return hashlib.blake2b(material, digest_size=6).hexdigest()


def build_response_cache(
    settings: Settings, runtime: CacheRuntime | None, *, version: str, clock: Callable[[], float] | None = None
) -> ResponseCache | None:
    """``None`` unless both the cache and ``cache.response`` are enabled. The response cache uses the
    entity cache's store (and tag sets) and is evicted with its L1."""
    options = settings.cache.response
    if runtime is None or not options.enabled:
        return None
    l1 = options.l1
    policy = ResponsePolicy(
        max_ttl_s=options.max_ttl_s,
        max_entry_bytes=options.max_entry_bytes,
        l1=L1Policy(max_entries=l1.max_entries, max_bytes=l1.max_bytes, ttl_s=l1.ttl_s)
        if l1.enabled and runtime.redis_store is not None
        else None,
    )
    responses = ResponseCache(
        store=runtime.store,
        policy=policy,
        version=version,
        clock=clock or time.time,
        clock_skew_s=settings.cache.clock_skew_s if runtime.redis_store is not None else 0.0,
    )
    runtime.engine.add_local_level(responses)
    return responses
