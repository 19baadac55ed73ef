"""``SharedStreams`` on its own, over the in-process bus: one execution per event for a group,
results in order, a member that falls behind dropped alone, the group dropped whole when its own
bus subscriber overflows, and the execution ended when its last member leaves."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator
from types import SimpleNamespace
from typing import Any, cast

import pytest
import redis.asyncio as redis
from cancel_support import StopDuringCommand
from strawberry.types.execution import ExecutionResult

from mobius.subscriptions.bus import InProcessBus
from mobius.subscriptions.shared import EXECUTIONS, SharedResult, SharedStreams
from schema.context import Caller, GatewayContext
from schema.sharing import SharingKey

TOPIC = "invoice:org-1"
KEY: SharingKey = ("subscription { invoiceEvents }", None, b"{}", True, frozenset({"billing:read"}))
CALLER = Caller(name="reader", scopes=frozenset({"billing:read"}), authenticated=True)


def member_context(on_overflow: Any = None) -> GatewayContext:
    return cast("GatewayContext", SimpleNamespace(caller=CALLER, on_overflow=on_overflow))


class Shared(SharedStreams):
    """With the ``start`` the schema would pass to ``join``: each bus message one result."""

    def __init__(self, bus: InProcessBus, buffer: int) -> None:
        super().__init__(lambda caller: member_context(), buffer=buffer)
        self.bus = bus

    def member(self, on_overflow: Any = None) -> AsyncGenerator[Any, None]:
        return self.join(KEY, member_context(on_overflow), self.start)

    async def start(self, context: GatewayContext) -> AsyncGenerator[Any, None]:
        return self._results(context)

    async def _results(self, context: GatewayContext) -> AsyncGenerator[Any, None]:
        stream = self.bus.subscribe(TOPIC, on_overflow=context.on_overflow)
        try:
            async for message in stream:
                yield ExecutionResult(data={"id": message["id"]}, errors=None)
        finally:
            stream.close()


def setup(bus_buffer: int = 100, member_buffer: int = 100) -> tuple[InProcessBus, Shared]:
    bus = InProcessBus(buffer=bus_buffer)
    return bus, Shared(bus, member_buffer)


async def until_listening(bus: InProcessBus) -> None:
    """The group's execution subscribes on the bus once its task runs."""
    for _ in range(1000):
        if bus.fanout.listens(TOPIC):
            return
        await asyncio.sleep(0)
    raise AssertionError("the shared execution never subscribed")


async def taken(results: AsyncGenerator[Any, None], count: int) -> list[bytes]:
    payloads = []
    async for result in results:
        assert isinstance(result, SharedResult)
        payloads.append(result.payload)
        if len(payloads) == count:
            break
    return payloads


async def test_members_get_the_same_encoded_results_in_order_from_one_execution() -> None:
    bus, shared = setup()
    first, second = shared.member(), shared.member()
    firsts = asyncio.create_task(taken(first, 3))
    seconds = asyncio.create_task(taken(second, 3))
    await until_listening(bus)
    before = EXECUTIONS._value.get()
    for number in (1, 2, 3):
        await bus.publish(TOPIC, {"id": f"evt-{number}"})

    expected = [b'{"data":{"id":"evt-1"}}', b'{"data":{"id":"evt-2"}}', b'{"data":{"id":"evt-3"}}']
    assert await asyncio.wait_for(firsts, 5) == expected
    assert await asyncio.wait_for(seconds, 5) == expected
    assert EXECUTIONS._value.get() - before == 3
    assert len(bus.fanout._topics[TOPIC]) == 1


async def test_a_member_that_falls_behind_is_dropped_alone() -> None:
    bus, shared = setup(member_buffer=2)
    told: list[str] = []
    slow = shared.member(lambda: told.append("slow"))
    fast = shared.member()
    fast_results = asyncio.create_task(taken(fast, 5))
    slow_started = asyncio.create_task(anext(slow))  # reads one result, then never again
    await until_listening(bus)
    for number in range(1, 6):
        await bus.publish(TOPIC, {"id": f"evt-{number}"})
        await asyncio.sleep(0)

    assert len(await asyncio.wait_for(fast_results, 5)) == 5
    assert told == ["slow"]
    assert (await slow_started).payload == b'{"data":{"id":"evt-1"}}'
    assert shared.members() == 1


async def test_a_group_whose_bus_subscriber_overflows_drops_every_member() -> None:
    bus, shared = setup(bus_buffer=2)
    told: list[str] = []
    members = [shared.member(lambda name=name: told.append(name)) for name in ("a", "b")]
    waiting = [asyncio.create_task(anext(member)) for member in members]
    await until_listening(bus)
    for number in range(1, 5):  # the group's execution has not run yet: its bus buffer overflows
        await bus.publish(TOPIC, {"id": f"evt-{number}"})

    assert sorted(told) == ["a", "b"]
    assert not bus.fanout.listens(TOPIC)
    assert shared.members() == 0
    for task in waiting:
        task.cancel()
    await asyncio.gather(*waiting, return_exceptions=True)


async def test_the_execution_ends_when_its_last_member_leaves() -> None:
    bus, shared = setup()
    first, second = shared.member(), shared.member()
    firsts = asyncio.create_task(taken(first, 1))
    seconds = asyncio.create_task(taken(second, 1))
    await until_listening(bus)
    await bus.publish(TOPIC, {"id": "evt-1"})
    await asyncio.wait_for(asyncio.gather(firsts, seconds), 5)
    await first.aclose()
    assert bus.fanout.listens(TOPIC)
    await second.aclose()
    for _ in range(10):
        await asyncio.sleep(0)

    assert not bus.fanout.listens(TOPIC)
    assert shared.members() == 0
    later = shared.member()
    latest = asyncio.create_task(taken(later, 1))
    await until_listening(bus)
    await bus.publish(TOPIC, {"id": "evt-2"})
    assert await asyncio.wait_for(latest, 5) == [b'{"data":{"id":"evt-2"}}']


class ResolvedOnRedis(Shared):
    """Each result needs a Redis command first, as a field read through the cache does."""

    def __init__(self, bus: InProcessBus, client: redis.Redis, key: str) -> None:
        super().__init__(bus, 100)
        self.client = client
        self.key = key

    async def _results(self, context: GatewayContext) -> AsyncGenerator[Any, None]:
        stream = self.bus.subscribe(TOPIC, on_overflow=context.on_overflow)
        try:
            async for message in stream:
                await self.client.get(self.key)
                yield ExecutionResult(data={"id": message["id"]}, errors=None)
        finally:
            stream.close()


async def test_the_execution_ends_when_its_last_member_left_during_a_redis_command(
    monkeypatch: pytest.MonkeyPatch, redis_url: str, redis_prefix: str
) -> None:
    client = redis.Redis.from_url(redis_url, socket_timeout=5.0)  # sends under a timeout, as the gateway's
    bus = InProcessBus(buffer=100)
    shared = ResolvedOnRedis(bus, client, f"{redis_prefix}entity")
    reading = asyncio.create_task(taken(shared.member(), 1))
    await until_listening(bus)
    execution = shared._groups[KEY].task
    assert execution is not None

    async def leave() -> None:  # the subscriber goes: its transport cancels its reader
        reading.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reading
        with contextlib.suppress(asyncio.CancelledError):
            await execution

    stopper = StopDuringCommand(monkeypatch, "GET", leave)
    try:
        await bus.publish(TOPIC, {"id": "evt-1"})
        await stopper.stopped()
        assert not bus.fanout.listens(TOPIC)
    finally:
        await client.aclose()
