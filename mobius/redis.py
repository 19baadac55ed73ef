"""The one place the gateway opens Redis: from ``settings.redis``, with tight timeouts and no
retries, so a slow or absent Redis costs a bounded delay and is never a gateway outage.

Three topologies, one client type per topology (``clients.redis_client.RedisClient``):

- **one server** (``redis://`` or ``rediss://`` with TLS; ACL users in the URL's user part);
- **Redis Cluster**: redis-py's cluster client, chosen when the server at ``redis.url`` says it is a
  cluster node (``INFO cluster``) or when ``redis.cluster: true`` insists;
- **Sentinel**: the master the sentinels name (``redis.sentinel``), followed across failovers.

``check_topology`` asks the server once, at start, and refuses what cannot work (a cluster whose
slots are not all served, a one-server client pointed at a cluster node, ``cluster: true`` against
a lone server) with a message naming the setting; a Redis that does not answer at start is left to
the cache's breaker (the topology then is what the settings say, one server by default).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlsplit

import redis
import structlog
from redis.asyncio import Redis as AsyncRedis
from redis.asyncio.cluster import RedisCluster
from redis.asyncio.connection import BlockingConnectionPool, parse_url
from redis.asyncio.retry import Retry
from redis.asyncio.sentinel import Sentinel
from redis.backoff import NoBackoff
from redis.exceptions import RedisError
from redis.sentinel import MasterNotFoundError
from redis.sentinel import Sentinel as BlockingSentinel

from clients.redis_client import RedisClient
from clients.resilience.ratelimit_store import RedisRateLimitStore
from mobius.settings import ConfigError, RedisSettings
from mobius.upstreams import secret_source

log = structlog.get_logger("mobius.redis")

Topology = Literal["server", "cluster", "sentinel"]
_CLUSTER_SLOTS = 16384
_PROBE_TIMEOUT_S = 1.0


@dataclass(frozen=True, slots=True)
class RedisTarget:
    """Where the shared Redis is and how it is shaped, settled once at start."""

    settings: RedisSettings
    topology: Topology

    @property
    def cluster(self) -> bool:
        return self.topology == "cluster"


def redis_url(settings: RedisSettings) -> str | None:
    return None if settings.url is None else secret_source(settings.url).reveal()


def _where(url: str) -> str:
    """host:port of a Redis URL, for messages (never its user or password)."""
    parts = urlsplit(url)
    return f"{parts.hostname or '?'}:{parts.port or 6379}"


def _tls_options(settings: RedisSettings) -> dict[str, Any]:
    tls = settings.tls
    options: dict[str, Any] = {"ssl_check_hostname": tls.check_hostname}
    if tls.ca_file is not None:
        options["ssl_ca_certs"] = str(tls.ca_file)
    if tls.cert_file is not None:
        options["ssl_certfile"] = str(tls.cert_file)
    if tls.key_file is not None:
        options["ssl_keyfile"] = str(tls.key_file)
    return options


def _uses_tls(url: str) -> bool:
    return url.lower().startswith("rediss://")


def _sentinel_nodes(settings: RedisSettings) -> list[tuple[str, int]]:
    assert settings.sentinel is not None
    nodes = []
    for node in settings.sentinel.nodes:
        host, _, port = node.rpartition(":")
        nodes.append((host, int(port)))
    return nodes


def _sentinel_options(settings: RedisSettings, *, timeout_s: float) -> dict[str, Any]:
    sentinel = settings.sentinel
    assert sentinel is not None
    options: dict[str, Any] = {"socket_timeout": timeout_s, "socket_connect_timeout": settings.connect_timeout_s}
    if sentinel.username is not None:
        options["username"] = sentinel.username
    if sentinel.password is not None:
        options["password"] = secret_source(sentinel.password).reveal()
    if sentinel.tls:
        options.update(ssl=True, **_tls_options(settings))
    return options


def _master_options(url: str, settings: RedisSettings) -> dict[str, Any]:
    """The master's user, password, database and TLS, taken from ``redis.url`` (its host is not used)."""
    parsed: dict[str, Any] = dict(parse_url(url))
    options: dict[str, Any] = {key: parsed[key] for key in ("username", "password", "db") if key in parsed}
    if _uses_tls(url):
        options.update(ssl=True, **_tls_options(settings))
    return options


def check_topology(settings: RedisSettings) -> RedisTarget | None:
    """``None`` without ``redis.url``. Otherwise asks the server what it is (a blocking call, made
    once at start) and raises ``ConfigError`` for a configuration that cannot work."""
    url = redis_url(settings)
    if url is None:
        return None
    if settings.sentinel is not None:
        _check_sentinel(url, settings)
        return RedisTarget(settings, "sentinel")
    info = _cluster_info(url, settings)
    if info is None:
        assumed: Topology = "cluster" if settings.cluster else "server"
        log.warning("redis_unreachable_at_start", where=_where(url), topology=assumed)
        return RedisTarget(settings, assumed)
    enabled, state, assigned = info
    where = _where(url)
    if enabled and settings.cluster is False:
        raise ConfigError(
            f"redis.cluster is false, but {where} is a Redis Cluster node: a one-server client would be answered "
            "MOVED for most keys. Set redis.cluster: true, or leave it unset to follow the server."
        )
    if not enabled and settings.cluster:
        raise ConfigError(f"redis.cluster is true, but {where} is not a Redis Cluster node (cluster_enabled:0)")
    if enabled and (state != "ok" or assigned < _CLUSTER_SLOTS):
        raise ConfigError(
            f"the Redis Cluster at {where} cannot serve every key: cluster_state:{state}, "
            f"{assigned} of {_CLUSTER_SLOTS} slots assigned. Assign every slot (redis-cli --cluster fix) first."
        )
    if enabled and parse_url(url).get("db", 0) not in (0, None):
        raise ConfigError(f"redis.url names database {parse_url(url).get('db')}: a cluster has only 0")
    return RedisTarget(settings, "cluster" if enabled else "server")


def _cluster_info(url: str, settings: RedisSettings) -> tuple[bool, str, int] | None:
    """(cluster enabled, cluster_state, slots assigned), or ``None`` when the server does not answer."""
    client = redis.Redis.from_url(
        url,
        socket_timeout=max(settings.socket_timeout_s, _PROBE_TIMEOUT_S),
        socket_connect_timeout=settings.connect_timeout_s,
        **(_tls_options(settings) if _uses_tls(url) else {}),
    )
    try:
        enabled = int(client.info("cluster").get("cluster_enabled", 0)) == 1
        if not enabled:
            return False, "", 0
        cluster: dict[str, Any] = client.cluster("info")
        return True, str(cluster.get("cluster_state", "?")), int(cluster.get("cluster_slots_assigned", 0))
    except redis.AuthenticationError as exc:
        raise ConfigError(f"Redis at {_where(url)} refused the credentials in redis.url: {exc}") from None
    except redis.ResponseError as exc:
        raise ConfigError(
            f"Redis at {_where(url)} refused INFO or CLUSTER INFO (check the ACL user's commands): {exc}"
        ) from None
    except (RedisError, OSError):
        return None
    finally:
        client.close()


def _check_sentinel(url: str, settings: RedisSettings) -> None:
    sentinel_settings = settings.sentinel
    assert sentinel_settings is not None
    sentinel = BlockingSentinel(
        _sentinel_nodes(settings),
        sentinel_kwargs=_sentinel_options(settings, timeout_s=max(settings.socket_timeout_s, _PROBE_TIMEOUT_S)),
    )
    try:
        host, port = sentinel.discover_master(sentinel_settings.master)
    except MasterNotFoundError as exc:
        if "No master found" in str(exc) and not _any_sentinel_answers(sentinel):
            log.warning("redis_sentinels_unreachable_at_start", master=sentinel_settings.master)
            return
        raise ConfigError(f"redis.sentinel: the sentinels know no master named {sentinel_settings.master!r}") from None
    finally:
        for node in sentinel.sentinels:
            node.close()
    log.info("redis_sentinel_master", master=sentinel_settings.master, where=f"{host}:{port}")


def _any_sentinel_answers(sentinel: BlockingSentinel) -> bool:
    for node in sentinel.sentinels:
        with contextlib.suppress(RedisError, OSError):
            node.ping()
            return True
    return False


def create_redis(target: RedisTarget) -> RedisClient:
    """The client for the target's topology, with the configured timeouts."""
    if target.topology == "cluster":
        return _cluster(target, socket_timeout=target.settings.socket_timeout_s)
    return _one_server(target, socket_timeout=target.settings.socket_timeout_s)


def _cluster(target: RedisTarget, *, socket_timeout: float) -> RedisCluster:
    settings = target.settings
    url = redis_url(settings)
    assert url is not None
    return RedisCluster.from_url(
        url,
        socket_timeout=socket_timeout,
        socket_connect_timeout=settings.connect_timeout_s,
        retry=Retry(NoBackoff(), 1),  # one more try after a node failed: the client learns the new layout
        **(_tls_options(settings) if _uses_tls(url) else {}),
    )


def create_blocking_client(target: RedisTarget, *, read_timeout_s: float, max_connections: int = 100) -> RedisClient:
    """A client for commands that wait on purpose (the event stream's blocking reads), with a read
    timeout past their longest wait; a cluster client on a cluster (the stream's keys share one slot).
    On one server, a burst past ``max_connections`` queues for a connection (up to the read
    timeout) instead of failing."""
    if target.topology == "cluster":
        return _cluster(target, socket_timeout=read_timeout_s)
    if target.topology == "server":
        settings = target.settings
        url = redis_url(settings)
        assert url is not None
        pool = BlockingConnectionPool.from_url(
            url,
            max_connections=max_connections,
            timeout=read_timeout_s,
            socket_timeout=read_timeout_s,
            socket_connect_timeout=settings.connect_timeout_s,
            retry=Retry(NoBackoff(), 0),
            **(_tls_options(settings) if _uses_tls(url) else {}),
        )
        client: AsyncRedis = AsyncRedis.from_pool(pool)
        return client
    return _one_server(target, socket_timeout=read_timeout_s)


def create_subscriber(target: RedisTarget) -> AsyncRedis:
    """A client for pub/sub subscribers, without a read timeout (they wait on purpose). Always a
    one-server client: every node of a cluster delivers every (non-sharded) message, so the node at
    ``redis.url`` will do."""
    return _one_server(target, socket_timeout=None)


def _one_server(target: RedisTarget, *, socket_timeout: float | None) -> AsyncRedis:
    settings = target.settings
    url = redis_url(settings)
    assert url is not None
    if target.topology == "sentinel":
        assert settings.sentinel is not None
        sentinel = Sentinel(
            _sentinel_nodes(settings),
            sentinel_kwargs=_sentinel_options(settings, timeout_s=settings.socket_timeout_s),
        )
        master: AsyncRedis = sentinel.master_for(
            settings.sentinel.master,
            socket_timeout=socket_timeout,
            socket_connect_timeout=settings.connect_timeout_s,
            retry=Retry(NoBackoff(), 0),
            **_master_options(url, settings),
        )
        return master
    client: AsyncRedis = AsyncRedis.from_url(
        url,
        socket_timeout=socket_timeout,
        socket_connect_timeout=settings.connect_timeout_s,
        retry=Retry(NoBackoff(), 0),
        **(_tls_options(settings) if _uses_tls(url) else {}),
    )
    return client


def shared_rate_limit_store(target: RedisTarget | None) -> RedisRateLimitStore | None:
    """With Redis configured, every replica's limiters count against one quota per upstream."""
    if target is None:
        return None
    return RedisRateLimitStore(create_redis(target), key_prefix=target.settings.key_prefix)
