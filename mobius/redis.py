"""The one way the gateway opens Redis: from ``settings.redis``, with tight timeouts and no retries,
so a slow or absent Redis costs a bounded delay and is never a gateway outage."""

from __future__ import annotations

import redis.asyncio as redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from clients.resilience.ratelimit_store import RedisRateLimitStore
from mobius.settings import RedisSettings
from mobius.upstreams import secret_source


def redis_url(settings: RedisSettings) -> str | None:
    return None if settings.url is None else secret_source(settings.url).reveal()


def create_redis(settings: RedisSettings, *, blocking: bool = False) -> redis.Redis:
    """A client for ``settings.redis.url`` (which must be set). ``blocking=True`` drops the read
    timeout, for connections that wait on purpose (pub/sub subscribers, blocking stream reads)."""
    url = redis_url(settings)
    if url is None:
        raise ValueError("redis.url is not configured")
    client: redis.Redis = redis.Redis.from_url(
        url,
        socket_timeout=None if blocking else settings.socket_timeout_s,
        socket_connect_timeout=settings.connect_timeout_s,
        retry=Retry(NoBackoff(), 0),
    )
    return client


def shared_rate_limit_store(settings: RedisSettings) -> RedisRateLimitStore | None:
    """With Redis configured, every replica's limiters count against one quota per upstream."""
    if settings.url is None:
        return None
    return RedisRateLimitStore(create_redis(settings), key_prefix=settings.key_prefix)
