"""The bus and ``PublishEvents`` on their own: routing by entity, order, bounded buffers, and the
Redis bus carrying events between two buses as between two replicas."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as redis

from mobius.events.model import Event
from mobius.subscriptions.bus import InProcessBus, RedisBus, Subscriber
from mobius.subscriptions.publish import PublishEvents


def change(entity_type: str, data: dict[str, object], number: int = 1) -> Event:
    return Event(
        id=f"evt-{number}",
        source="upstream",
        type=f"{entity_type.lower()}.changed",
        entity_type=entity_type,
        entity_id=f"{entity_type.lower()}-{number}",
        version=number,
        occurred_at=1.0,
        data=data,
    )


async def taken(subscriber: Subscriber, count: int) -> list[str]:
    ids = []
    async for message in subscriber:
        ids.append(str(message["id"]))
        if len(ids) == count:
            break
    return ids


async def test_events_are_routed_to_the_topic_of_their_owner() -> None:
    bus = InProcessBus(buffer=10)
    invoices, issues, tickets = (
        bus.subscribe("invoice:org-1"),
        bus.subscribe("issue:p-1"),
        bus.subscribe("ticket:org-1"),
    )
    publish = PublishEvents(bus)

    await publish.handle(change("Invoice", {"org_id": "org-1"}, 1))
    await publish.handle(change("Issue", {"project_id": "p-1"}, 2))
    await publish.handle(change("Ticket", {"org_id": "org-1"}, 3))
    await publish.handle(change("Issue", {"org_id": "org-1"}, 4))  # no project: nowhere to go
    await publish.handle(change("Subscription", {"org_id": "org-1"}, 5))  # no subscription topic
    await publish.handle(change("Invoice", {"org_id": "org-1"}, 6))

    assert await taken(invoices, 2) == ["evt-1", "evt-6"]
    assert await taken(issues, 1) == ["evt-2"]
    assert await taken(tickets, 1) == ["evt-3"]
    assert issues._queue.empty()
    assert tickets._queue.empty()


async def test_a_full_buffer_drops_only_its_subscriber_and_says_so_once() -> None:
    bus = InProcessBus(buffer=2)
    told: list[str] = []
    slow = bus.subscribe("invoice:org-1", on_overflow=lambda: told.append("slow"))
    fast = bus.subscribe("invoice:org-1")
    publish = PublishEvents(bus)

    for number in range(1, 4):
        await publish.handle(change("Invoice", {"org_id": "org-1"}, number))
        if number < 3:
            assert await taken(fast, 1) == [f"evt-{number}"]
    await publish.handle(change("Invoice", {"org_id": "org-1"}, 4))

    assert told == ["slow"]
    assert slow.overflowed
    assert not fast.overflowed
    assert await taken(fast, 2) == ["evt-3", "evt-4"]
    assert not bus.fanout.listens("invoice:org-2")
    assert len(bus.fanout._topics["invoice:org-1"]) == 1


async def test_a_dropped_stream_without_a_transport_to_tell_just_ends() -> None:
    bus = InProcessBus(buffer=1)
    subscriber = bus.subscribe("ticket:org-1")
    publish = PublishEvents(bus)
    for number in range(3):
        await publish.handle(change("Ticket", {"org_id": "org-1"}, number))

    assert await asyncio.wait_for(taken(subscriber, 5), 1) == []


@pytest.fixture
async def two_buses(redis_url: str, redis_prefix: str) -> AsyncIterator[tuple[RedisBus, RedisBus]]:
    buses = [
        RedisBus(redis.Redis.from_url(redis_url), redis.Redis.from_url(redis_url), key_prefix=redis_prefix, buffer=100)
        for _ in range(2)
    ]
    for bus in buses:
        await bus.start()
    try:
        yield buses[0], buses[1]
    finally:
        for bus in buses:
            await bus.close()


async def test_the_redis_bus_carries_events_between_replicas_in_order(two_buses: tuple[RedisBus, RedisBus]) -> None:
    here, there = two_buses
    subscriber = there.subscribe("issue:p-7")
    elsewhere = here.subscribe("issue:p-8")

    for number in range(1, 6):
        await PublishEvents(here).handle(change("Issue", {"project_id": "p-7"}, number))

    assert await asyncio.wait_for(taken(subscriber, 5), 5) == [f"evt-{n}" for n in range(1, 6)]
    assert elsewhere._queue.empty()
