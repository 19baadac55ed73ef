"""The worker on both streams: effects before acknowledgement, retries, dead letters, version order,
and taking over a dead consumer's entries."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence

import pytest
import redis.asyncio as redis
from cancel_support import StopDuringCommand
from clock import FakeClock
from events_support import event, stream

from mobius.events.codec import decode
from mobius.events.model import Event
from mobius.events.stream import EventStream, RedisEventStream
from mobius.events.worker import Worker, WorkerPolicy

__all__ = ["stream"]

POLICY = WorkerPolicy(batch=10, block_s=0.01, claim_idle_s=0.0, max_deliveries=3)


class Recorder:
    """A handler that fails its first ``failures`` calls per event, then records it."""

    def __init__(self, failures: int = 0) -> None:
        self.failures = failures
        self.attempts: dict[str, int] = {}
        self.applied: list[Event] = []

    async def handle(self, event: Event) -> None:
        self.attempts[event.id] = self.attempts.get(event.id, 0) + 1
        if self.attempts[event.id] <= self.failures:
            raise RuntimeError("upstream said no")
        self.applied.append(event)


async def drain(worker: Worker, clock: FakeClock, rounds: int = 8) -> None:
    for _ in range(rounds):
        clock.advance(1)
        await worker.step()


async def test_events_are_applied_once_in_order_per_entity_and_acknowledged(
    stream: EventStream, clock: FakeClock
) -> None:
    recorder = Recorder()
    sent = [event("in-1", 1), event("in-2", 1), event("in-1", 2)]
    for one in sent:
        await stream.admit(one)
    await drain(Worker(stream, [recorder], POLICY, clock=clock), clock)
    assert sorted(recorder.applied, key=sent.index) == sent  # each once
    assert [one for one in recorder.applied if one.entity_id == "in-1"] == [sent[0], sent[2]]  # in order
    assert await stream.applied_version(sent[0]) == 2
    backlog = await stream.backlog()
    assert (backlog.waiting, backlog.pending, backlog.dead) == (0, 0, 0)


async def test_an_out_of_order_event_never_undoes_a_newer_one(stream: EventStream, clock: FakeClock) -> None:
    recorder = Recorder()
    newer, older = event("in-1", 5), event("in-1", 4)
    await stream.admit(newer)
    await stream.admit(older)  # both admitted before either is applied
    await drain(Worker(stream, [recorder], POLICY, clock=clock), clock)
    assert recorder.applied == [newer]
    assert (await stream.backlog()).waiting == 0


async def test_a_failing_handler_is_retried_until_it_succeeds(stream: EventStream, clock: FakeClock) -> None:
    recorder = Recorder(failures=2)
    sent = event()
    await stream.admit(sent)
    await drain(Worker(stream, [recorder], POLICY, clock=clock), clock)
    assert recorder.applied == [sent]
    assert recorder.attempts[sent.id] == 3
    assert (await stream.backlog()).dead == 0


async def test_an_event_failing_max_deliveries_times_is_dead_lettered(stream: EventStream, clock: FakeClock) -> None:
    recorder = Recorder(failures=100)
    sent = event()
    await stream.admit(sent)
    await drain(Worker(stream, [recorder], POLICY, clock=clock), clock)
    assert recorder.attempts[sent.id] == POLICY.max_deliveries
    [dead] = await stream.dead_letters(count=10)
    assert decode(dead.payload) == sent
    assert dead.reason == "RuntimeError: upstream said no"
    backlog = await stream.backlog()
    assert (backlog.waiting, backlog.pending) == (0, 0)

    assert await stream.replay_dead([dead.entry_id]) == 1
    recorder.failures = 0
    await drain(Worker(stream, [recorder], POLICY, clock=clock), clock)
    assert recorder.applied == [sent]


async def test_a_dead_consumers_entries_are_taken_over(stream: EventStream, clock: FakeClock) -> None:
    sent = [event("in-1"), event("in-2")]
    for one in sent:
        await stream.admit(one)
    assert len(await stream.read("crashed-worker", count=10, block_s=0.01)) == 2  # never acknowledged
    recorder = Recorder()
    await drain(Worker(stream, [recorder], POLICY, clock=clock), clock)
    assert recorder.applied == sent
    assert (await stream.backlog()).pending == 0


async def test_a_worker_restarted_under_its_name_finishes_its_entries_first_in_order(
    stream: EventStream, clock: FakeClock
) -> None:
    older, newer = event("in-1", 1), event("in-1", 2)
    await stream.admit(older)
    assert len(await stream.read("worker-a", count=1, block_s=0.01)) == 1  # then the process died
    await stream.admit(newer)
    recorder = Recorder()
    policy = WorkerPolicy(batch=10, block_s=0.01, claim_idle_s=3600, max_deliveries=3)
    await drain(Worker(stream, [recorder], policy, consumer="worker-a", clock=clock), clock)
    assert recorder.applied == [older, newer]


async def test_a_failed_event_holds_back_the_later_events_of_its_entity(stream: EventStream, clock: FakeClock) -> None:
    first, second, other = event("in-1", 1), event("in-1", 2), event("in-2", 1)
    for one in (first, second, other):
        await stream.admit(one)

    class FailsFirstOnce(Recorder):
        async def handle(self, event: Event) -> None:
            if event == first and first.id not in self.attempts:
                self.attempts[first.id] = 1
                raise RuntimeError("not yet")
            await super().handle(event)

    recorder = FailsFirstOnce()
    await drain(Worker(stream, [recorder], POLICY, clock=clock), clock)
    assert [one for one in recorder.applied if one.entity_id == "in-1"] == [first, second]
    assert other in recorder.applied


class BatchRecorder:
    """A batch handler (as cache invalidation is) that fails on any event of a ``poison`` entity."""

    def __init__(self, poison: frozenset[str] = frozenset()) -> None:
        self.poison = poison
        self.batches: list[list[Event]] = []
        self.single: list[Event] = []

    async def handle(self, event: Event) -> None:
        if event.entity_id in self.poison:
            raise RuntimeError("touches nothing known")
        self.single.append(event)

    async def handle_batch(self, events: Sequence[Event]) -> None:
        if any(event.entity_id in self.poison for event in events):
            raise RuntimeError("touches nothing known")
        self.batches.append(list(events))


async def test_a_batch_handler_takes_a_batch_at_once_before_the_per_event_handlers(
    stream: EventStream, clock: FakeClock
) -> None:
    batch, recorder = BatchRecorder(), Recorder()
    sent = [event("in-1", 1), event("in-2", 1), event("in-1", 2)]
    for one in [*sent, event("in-2", 0)]:  # the last is older than one before it: never applied
        await stream.admit(one)
    await drain(Worker(stream, [batch, recorder], POLICY, clock=clock), clock)
    assert [sorted(found, key=sent.index) for found in batch.batches] == [sent]  # one call, in order per entity
    assert batch.single == []
    assert sorted(recorder.applied, key=sent.index) == sent
    assert (await stream.backlog()).waiting == 0


async def test_one_bad_event_fails_alone_when_its_batch_fails(stream: EventStream, clock: FakeClock) -> None:
    batch, recorder = BatchRecorder(poison=frozenset({"bad"})), Recorder()
    good = [event("in-1", 1), event("in-2", 1)]
    for one in [good[0], event("bad", 1), good[1]]:
        await stream.admit(one)
    await drain(Worker(stream, [batch, recorder], POLICY, clock=clock), clock)
    assert sorted(batch.single, key=good.index) == good  # the batch failed: each event on its own
    assert sorted(recorder.applied, key=good.index) == good
    [dead] = await stream.dead_letters(count=10)
    assert decode(dead.payload).entity_id == "bad"
    assert dead.reason == "RuntimeError: touches nothing known"
    backlog = await stream.backlog()
    assert (backlog.waiting, backlog.pending) == (0, 0)


@pytest.mark.parametrize("then_fail", [False, True], ids=["read", "failed-read"])
async def test_the_worker_stops_when_its_read_consumed_the_stop(
    monkeypatch: pytest.MonkeyPatch, redis_url: str, redis_prefix: str, then_fail: bool
) -> None:
    client = redis.Redis.from_url(redis_url, socket_timeout=5.0)  # sends under a timeout, as the gateway's
    redis_stream = RedisEventStream(client, prefix=redis_prefix, replay_ttl_s=900, version_ttl_s=3600)
    await redis_stream.start()
    task = asyncio.create_task(Worker(redis_stream, [Recorder()], POLICY).run())

    async def stop() -> None:  # as ``Events.close``
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    stopper = StopDuringCommand(monkeypatch, "XREADGROUP", stop, then_fail=then_fail)
    try:
        await stopper.stopped()
    finally:
        await redis_stream.close()
