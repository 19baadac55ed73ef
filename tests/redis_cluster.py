"""A real 3-node Redis Cluster on loopback, started from the ``redis-server`` the machine has.

Three primaries, no replicas, on free ports (each node's cluster bus is its port + 10000), with
their files in a temporary directory; ``redis-cli --cluster create`` assigns the slots. The cluster
is up once every node reports ``cluster_state:ok``; it is stopped (and its files removed) at exit.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

_NODES = 3
_BUS_OFFSET = 10000
_START_TIMEOUT_S = 30.0


def _port_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _cluster_ports(count: int) -> list[int]:
    """Ports whose cluster-bus partners (port + 10000) are free too."""
    ports: list[int] = []
    while len(ports) < count:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port: int = probe.getsockname()[1]
        if port + _BUS_OFFSET < 65536 and port not in ports and _port_free(port + _BUS_OFFSET):
            ports.append(port)
    return ports


def _cli(port: int, *args: str) -> str:
    done = subprocess.run(  # noqa: S603
        ["redis-cli", "-h", "127.0.0.1", "-p", str(port), *args],  # noqa: S607
        capture_output=True,
        text=True,
        timeout=10,
        check=False,
    )
    return done.stdout


class LocalRedisCluster:
    """``with LocalRedisCluster() as cluster: cluster.url`` (the first node; any node will do)."""

    def __init__(self, nodes: int = _NODES, *, create: bool = True) -> None:
        """``create=False`` leaves the nodes without slots (a cluster that cannot serve)."""
        self.create = create
        self.ports = _cluster_ports(nodes)
        self.url = f"redis://127.0.0.1:{self.ports[0]}/0"
        self._dir = Path(tempfile.mkdtemp(prefix="mobius-redis-cluster-"))
        self._servers: list[subprocess.Popen[bytes]] = []

    def __enter__(self) -> LocalRedisCluster:
        try:
            for port in self.ports:
                self._servers.append(self._start_node(port))
            for port in self.ports:
                self._wait(lambda port=port: _cli(port, "ping").strip() == "PONG", f"node {port} to answer")
            if not self.create:
                return self
            create = subprocess.run(  # noqa: S603
                [  # noqa: S607
                    "redis-cli",
                    "--cluster",
                    "create",
                    *(f"127.0.0.1:{port}" for port in self.ports),
                    "--cluster-replicas",
                    "0",
                    "--cluster-yes",
                ],
                capture_output=True,
                text=True,
                timeout=30,
                check=False,
            )
            if create.returncode != 0:
                raise RuntimeError(f"redis-cli --cluster create failed: {create.stdout[-500:]} {create.stderr[-500:]}")
            for port in self.ports:
                self._wait(lambda port=port: "cluster_state:ok" in _cli(port, "cluster", "info"), f"node {port} ok")
        except BaseException:
            self.__exit__()
            raise
        return self

    def _start_node(self, port: int) -> subprocess.Popen[bytes]:
        return subprocess.Popen(  # noqa: S603
            [  # noqa: S607
                "redis-server",
                "--port",
                str(port),
                "--bind",
                "127.0.0.1",
                "--cluster-enabled",
                "yes",
                "--cluster-config-file",
                f"nodes-{port}.conf",
                "--cluster-node-timeout",
                "2000",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self._dir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def _wait(self, ready: object, what: str) -> None:
        deadline = time.monotonic() + _START_TIMEOUT_S
        while time.monotonic() < deadline:
            if callable(ready) and ready():
                return
            if any(server.poll() is not None for server in self._servers):
                raise RuntimeError(f"a Redis Cluster node exited while waiting for {what}")
            time.sleep(0.05)
        raise RuntimeError(f"timed out waiting for {what}")

    def __exit__(self, *_: object) -> None:
        for server in self._servers:
            server.terminate()
        for server in self._servers:
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
        shutil.rmtree(self._dir, ignore_errors=True)
