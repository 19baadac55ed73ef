"""The real RabbitMQ server on loopback, with a virtual host of its own for every test session.

The vhost is made and removed with ``rabbitmqctl`` (the management HTTP API is not enabled here);
without it the tests share ``/`` and rely on unique exchange and queue names, deleted afterwards.
Connections are closed from the server side the same way, to test a consumer's reconnect.
"""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import aio_pika
import pytest

AMQP_HOST = os.environ.get("MOBIUS_TEST_AMQP_HOST", "127.0.0.1:5672")
AMQP_USER = "guest"
_RUN = uuid.uuid4().hex[:8]
_counter = itertools.count()
RABBITMQCTL = shutil.which("rabbitmqctl")


def _ctl(*args: str) -> None:
    assert RABBITMQCTL is not None
    subprocess.run([RABBITMQCTL, "-q", *args], check=True, capture_output=True, timeout=60)  # noqa: S603  # fixed tool, our arguments


@dataclass(frozen=True)
class Broker:
    """One test's names on the broker: its vhost's URL and an exchange and queue of its own."""

    vhost: str
    exchange: str
    queue: str

    @property
    def url(self) -> str:
        vhost = "%2F" if self.vhost == "/" else self.vhost
        return f"amqp://{AMQP_USER}:{AMQP_USER}@{AMQP_HOST}/{vhost}"

    def close_connections(self) -> None:
        """Close every client connection of this vhost from the server side, as an operator would."""
        if RABBITMQCTL is None:
            pytest.skip("closing a connection from the server side needs rabbitmqctl")
        _ctl("close_all_connections", "-p", self.vhost, "closed by the test")


@pytest.fixture(scope="session")
def amqp_vhost() -> Iterator[str]:
    if RABBITMQCTL is None:
        yield "/"
        return
    vhost = f"mobius-test-{_RUN}"
    _ctl("add_vhost", vhost)
    _ctl("set_permissions", "-p", vhost, AMQP_USER, ".*", ".*", ".*")
    try:
        yield vhost
    finally:
        _ctl("delete_vhost", vhost)


@pytest.fixture
async def broker(amqp_vhost: str) -> AsyncIterator[Broker]:
    n = next(_counter)
    names = Broker(vhost=amqp_vhost, exchange=f"test.{_RUN}.{n}.events", queue=f"test.{_RUN}.{n}.issues")
    yield names
    connection = await aio_pika.connect(names.url)
    async with connection:
        channel = await connection.channel()
        for queue in (names.queue, f"{names.queue}.dead"):
            await channel.queue_delete(queue)
        for exchange in (names.exchange, f"{names.queue}.dlx"):
            await channel.exchange_delete(exchange)
