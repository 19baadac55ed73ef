"""The shared Redis (one node, a cluster or through Sentinel) and the read-through cache over it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import Field, field_validator, model_validator

from mobius.settings.base import SecretRef, Strict


class RedisTlsSettings(Strict):
    """For ``rediss://``: the CA that signed the server's certificate and, where the server asks for
    one, the gateway's client certificate (files, re-read when a connection is made)."""

    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    check_hostname: bool = True


class RedisSentinelSettings(Strict):
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


class RedisSettings(Strict):
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


class CacheL1Settings(Strict):
    """The in-process first level in front of the store (Redis, or the in-process store: decoded values)."""

    enabled: bool = True
    max_entries: int = Field(default=10_000, ge=1)
    max_bytes: int = Field(default=32 * 1024 * 1024, ge=1024)
    ttl_s: float = Field(default=5.0, gt=0, description="bounds how long another replica's invalidation can be missed")


class CacheLockSettings(Strict):
    """A short Redis lock per missed key so that replicas do not stampede a hot key (with Redis only:
    in one process concurrent misses already share one fetch)."""

    enabled: bool = True
    ttl_s: float = Field(default=2.0, gt=0)
    wait_s: float = Field(default=0.25, ge=0)


class CacheResponseSettings(Strict):
    """Whole GraphQL responses of query operations, keyed by document, variables and caller, tagged
    with the entities they were built from. Opt-in; only active when the cache itself is enabled."""

    enabled: bool = False
    max_ttl_s: float = Field(default=60.0, gt=0, description="capped further by the freshness its entries have left")
    max_entry_bytes: int = Field(default=1_000_000, ge=1024, description="larger responses are served, not stored")
    l1: CacheL1Settings = CacheL1Settings(max_entries=1_000)


class CacheSettings(Strict):
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
