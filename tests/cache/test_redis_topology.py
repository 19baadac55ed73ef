"""What ``mobius.redis`` makes of the configured Redis: a cluster node's URL just works, a
configuration that cannot work stops the start with a message, and TLS (with an ACL user) and
Sentinel work through settings. Every server here is a real ``redis-server`` on loopback."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from clock import FakeClock
from harness import free_port
from redis_cluster import LocalRedisCluster
from structlog.testing import capture_logs

from mobius.redis import check_topology, create_redis
from mobius.settings import ConfigError, RedisSettings
from resolvers.cache import RedisStore, StoreWrite, store_breaker

PASSWORD = "s3cret-acl-password"
PATIENT = {"socket_timeout_s": 5.0, "connect_timeout_s": 5.0}
"""For a fresh server's first TLS connections on a loaded machine: the defaults (50 and 200 ms) are
a LAN's, and these tests check what the settings reach, not how fast."""


def settings(url: str, **options: object) -> RedisSettings:
    return RedisSettings.model_validate({"url": url, "key_prefix": "topology-test:", **options})


async def round_trip(settings: RedisSettings) -> list[bytes | None]:
    """Write and read an entry through the cache's store, as the gateway would."""
    target = check_topology(settings)
    assert target is not None
    store = RedisStore(
        create_redis(target),
        prefix=settings.key_prefix,
        op_timeout_s=1.0,
        breaker=store_breaker(clock=FakeClock()),
    )
    try:
        await store.set_many([StoreWrite(key="c:t:{e:1}", data=b"v", ttl_s=5)])
        return await store.get_many(["c:t:{e:1}", "c:t:{e:2}"])
    finally:
        await store.client.aclose()


def test_a_cluster_nodes_url_is_recognised_as_a_cluster(redis_cluster_url: str, redis_url: str) -> None:
    cluster = check_topology(settings(redis_cluster_url))
    server = check_topology(settings(redis_url))
    assert cluster is not None
    assert server is not None
    assert (cluster.topology, server.topology) == ("cluster", "server")
    assert check_topology(RedisSettings()) is None


def test_a_one_server_client_pointed_at_a_cluster_stops_the_start(redis_cluster_url: str) -> None:
    with pytest.raises(ConfigError, match=r"redis.cluster is false, but 127.0.0.1:\d+ is a Redis Cluster node"):
        check_topology(settings(redis_cluster_url, cluster=False))


def test_insisting_on_a_cluster_against_one_server_stops_the_start(redis_url: str) -> None:
    with pytest.raises(ConfigError, match=r"redis.cluster is true, but .* is not a Redis Cluster node"):
        check_topology(settings(redis_url, cluster=True))


def test_a_cluster_whose_slots_are_not_all_served_stops_the_start() -> None:
    with (
        LocalRedisCluster(nodes=1, create=False) as lonely,
        pytest.raises(ConfigError, match=r"cluster_state:fail, 0 of 16384 slots assigned"),
    ):
        check_topology(settings(lonely.url))


def test_a_redis_that_does_not_answer_at_start_is_left_to_the_caches_breaker() -> None:
    with capture_logs() as logs:
        target = check_topology(settings(f"redis://127.0.0.1:{free_port()}/0"))
    assert target is not None
    assert target.topology == "server"
    assert [log["event"] for log in logs] == ["redis_unreachable_at_start"]


def test_redis_settings_refuse_sentinel_with_cluster_and_bad_sentinel_nodes() -> None:
    sentinel = {"master": "main", "nodes": ["127.0.0.1:26379"]}
    with pytest.raises(ValueError, match="exclude each other"):
        settings("redis://x:6379/0", cluster=True, sentinel=sentinel)
    with pytest.raises(ValueError, match="a sentinel is written host:port"):
        settings("redis://x:6379/0", sentinel={"master": "main", "nodes": ["nowhere"]})
    with pytest.raises(ValueError, match=r"needs redis\.url"):
        RedisSettings.model_validate({"sentinel": sentinel})


def _wait_for(port: int, *args: str) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        done = subprocess.run(  # noqa: S603
            ["redis-cli", "-p", str(port), *args, "ping"],  # noqa: S607
            capture_output=True,
            text=True,
            check=False,
        )
        if "PONG" in done.stdout:
            return
        time.sleep(0.05)
    raise RuntimeError(f"redis on {port} did not answer")


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for server in started:
        server.terminate()
        server.wait(timeout=10)


def _redis(servers: list[subprocess.Popen[bytes]], *args: str) -> None:
    command = ["redis-server", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", *args]
    servers.append(subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))  # noqa: S603


@pytest.fixture
def tls_redis(tmp_path: Path, servers: list[subprocess.Popen[bytes]]) -> tuple[int, Path]:
    """A TLS-only redis-server with a self-signed certificate, its default user off and an ACL user
    ``mobius``: (port, certificate)."""
    openssl = shutil.which("openssl")
    assert openssl is not None, "openssl makes the test's self-signed certificate"
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(  # noqa: S603
        [
            *(openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"),
            *("-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=127.0.0.1"),
            *("-addext", "subjectAltName=IP:127.0.0.1"),
        ],
        check=True,
        capture_output=True,
    )
    port = free_port()
    _redis(
        servers,
        *("--port", "0", "--tls-port", str(port), "--tls-cert-file", str(cert), "--tls-key-file", str(key)),
        *("--tls-ca-cert-file", str(cert), "--tls-auth-clients", "no"),
        *("--user", "default", "off", "--user", "mobius", "on", f">{PASSWORD}", "~*", "&*", "+@all"),
    )
    _wait_for(port, "--tls", "--cacert", str(cert), "--user", "mobius", "--pass", PASSWORD, "--no-auth-warning")
    return port, cert


async def test_tls_with_an_acl_user_through_settings(tls_redis: tuple[int, Path]) -> None:
    port, cert = tls_redis
    url = f"rediss://mobius:{PASSWORD}@127.0.0.1:{port}/0"

    assert await round_trip(settings(url, tls={"ca_file": str(cert)}, **PATIENT)) == [b"v", None]
    with pytest.raises(ConfigError, match="refused the credentials"):
        check_topology(settings(f"rediss://mobius:wrong@127.0.0.1:{port}/0", tls={"ca_file": str(cert)}, **PATIENT))


@pytest.fixture
def sentinel_port(tmp_path: Path, servers: list[subprocess.Popen[bytes]]) -> int:
    """A password-protected master and one sentinel monitoring it as ``main``."""
    master, sentinel = free_port(), free_port()
    _redis(servers, "--port", str(master), "--requirepass", PASSWORD)
    config = tmp_path / "sentinel.conf"
    config.write_text(
        f"port {sentinel}\nbind 127.0.0.1\n"
        f"sentinel monitor main 127.0.0.1 {master} 1\nsentinel auth-pass main {PASSWORD}\n"
    )
    servers.append(
        subprocess.Popen(  # noqa: S603
            ["redis-server", str(config), "--sentinel"],  # noqa: S607
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    )
    _wait_for(master, "-a", PASSWORD, "--no-auth-warning")
    _wait_for(sentinel)
    return sentinel


async def test_sentinel_finds_the_master(sentinel_port: int) -> None:
    sentinel_settings = {"master": "main", "nodes": [f"127.0.0.1:{sentinel_port}"]}

    configured = settings(f"redis://:{PASSWORD}@ignored:6379/0", sentinel=sentinel_settings, **PATIENT)
    assert await round_trip(configured) == [b"v", None]
    with pytest.raises(ConfigError, match="know no master named 'elsewhere'"):
        check_topology(settings("redis://x/0", sentinel={**sentinel_settings, "master": "elsewhere"}))
