"""A stop that lands while a Redis command is being sent: the moment at which redis-py, sending
under ``asyncio.wait_for`` (a client with a ``socket_timeout``), consumes the cancellation on
Python 3.11 (``clients.redis_client.cancel_requested``). Every loop that runs until it is stopped
must end all the same."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Iterable

import pytest
from redis.asyncio.connection import Connection

STOP_WITHIN_S = 5.0
"""A hang guard: a loop that missed its stop waits far longer (its next wait, or for ever)."""


class StopDuringCommand:
    """Runs ``stop`` (which cancels the loop's task) from inside the sending of the first Redis
    command named ``command``: the send finishes in the same turn as the cancellation arrives. With
    ``then_fail`` the connection is dropped as well, so the command ends in a ``ConnectionError``
    (the loop's error path)."""

    def __init__(
        self,
        monkeypatch: pytest.MonkeyPatch,
        command: str,
        stop: Callable[[], Awaitable[None]],
        *,
        then_fail: bool = False,
    ) -> None:
        self.stop = stop
        self.needle = f"\r\n{command}\r\n".encode()
        self.stopping: asyncio.Task[None] | None = None
        self.sent = asyncio.Event()
        send = Connection._send_packed_command

        async def send_then_stop(connection: Connection, packed: Iterable[bytes]) -> None:
            chunks = list(packed)
            await send(connection, chunks)
            if self.stopping is None and self.needle in b"".join(chunks).upper():
                if then_fail:
                    await connection.disconnect(nowait=True)
                self.stopping = asyncio.create_task(self._stop())
                self.sent.set()

        monkeypatch.setattr(Connection, "_send_packed_command", send_then_stop)

    async def _stop(self) -> None:
        await self.stop()

    async def stopped(self) -> None:
        """Once the command was sent: the stop, which must return (the loop ended). Waited for
        without cancelling it: a cancelled stop would cancel the loop a second time and end it."""
        await asyncio.wait_for(self.sent.wait(), STOP_WITHIN_S)
        assert self.stopping is not None
        done, _ = await asyncio.wait({self.stopping}, timeout=STOP_WITHIN_S)
        if not done:
            self.stopping.cancel()  # ends the loop, so that the test leaves nothing running
            with contextlib.suppress(asyncio.CancelledError):
                await self.stopping
            raise AssertionError(f"the loop did not end within {STOP_WITHIN_S} s of its stop")
        await self.stopping
