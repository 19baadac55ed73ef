"""The stream's contract, on both implementations: intake, delivery, acknowledgement, claims, dead letters."""

from __future__ import annotations

from events_support import event, stream

from mobius.events.codec import decode
from mobius.events.stream import EventStream

__all__ = ["stream"]


async def test_an_admitted_event_is_delivered_once_to_the_group(stream: EventStream) -> None:
    sent = event()
    assert await stream.admit(sent) == "accepted"
    first = await stream.read("a", count=10, block_s=0.01)
    assert [decode(entry.payload) for entry in first] == [sent]
    assert first[0].deliveries == 1
    assert await stream.read("b", count=10, block_s=0.01) == []


async def test_the_same_id_again_is_a_replay_and_not_appended(stream: EventStream) -> None:
    assert await stream.admit(event(event_id="evt-x")) == "accepted"
    assert await stream.admit(event(event_id="evt-x", version=2)) == "replay"
    assert len(await stream.read("a", count=10, block_s=0.01)) == 1


async def test_an_event_not_newer_than_the_applied_version_is_stale(stream: EventStream) -> None:
    await stream.mark_applied(event(version=5))
    assert await stream.admit(event(version=4)) == "stale"
    assert await stream.admit(event(version=5)) == "stale"
    assert await stream.admit(event(version=6)) == "accepted"
    assert await stream.applied_version(event()) == 5


async def test_marking_an_older_version_applied_never_lowers_it(stream: EventStream) -> None:
    await stream.mark_applied(event(version=7))
    await stream.mark_applied(event(version=3))
    assert await stream.applied_version(event()) == 7


async def test_acknowledged_entries_leave_the_stream(stream: EventStream) -> None:
    await stream.admit(event())
    [entry] = await stream.read("a", count=10, block_s=0.01)
    assert (await stream.backlog()).pending == 1
    await stream.ack([entry.entry_id])
    backlog = await stream.backlog()
    assert (backlog.waiting, backlog.pending) == (0, 0)
    assert await stream.claim("b", idle_s=0, count=10) == []


async def test_a_dead_consumers_pending_entries_are_claimed_by_another(stream: EventStream) -> None:
    sent = event()
    await stream.admit(sent)
    await stream.read("dead", count=10, block_s=0.01)
    [claimed] = await stream.claim("alive", idle_s=0, count=10)
    assert decode(claimed.payload) == sent
    assert claimed.deliveries == 2  # read once, claimed once


async def test_dead_letters_are_listed_replayed_and_dropped(stream: EventStream) -> None:
    first, second = event("in-1"), event("in-2")
    await stream.admit(first)
    await stream.admit(second)
    entries = await stream.read("a", count=10, block_s=0.01)
    for entry in entries:
        await stream.dead_letter(entry, "boom")
    dead = await stream.dead_letters(count=10)
    assert [(decode(letter.payload), letter.reason) for letter in dead] == [(first, "boom"), (second, "boom")]
    assert (await stream.backlog()).dead == 2
    assert await stream.replay_dead([dead[0].entry_id]) == 1
    assert await stream.drop_dead([dead[1].entry_id, "0-1"]) == 1
    assert await stream.dead_letters(count=10) == []
    [again] = await stream.read("a", count=10, block_s=0.01)
    assert decode(again.payload) == first


async def test_settling_a_large_batch_marks_every_version_and_acknowledges_every_entry(stream: EventStream) -> None:
    sent = [event(f"in-{index}", 3) for index in range(1500)]
    for one in sent:
        await stream.admit(one)
    entries = await stream.read("a", count=2000, block_s=0.01)
    await stream.mark_applied(event("in-0", 9))
    await stream.settle(sent, [entry.entry_id for entry in entries])
    assert await stream.applied_versions([sent[0], sent[1], sent[-1]]) == [9, 3, 3]  # never lowered
    backlog = await stream.backlog()
    assert (backlog.waiting, backlog.pending) == (0, 0)
