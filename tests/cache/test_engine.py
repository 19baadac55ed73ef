"""The read-through engine on the in-process store, with an injected clock."""

from __future__ import annotations

import asyncio
from typing import Any

import msgspec
import orjson
import pytest
from cache_support import CACHE_TYPES, CUSTOMERS, INVOICES, ISSUES, MEMBERS, PROJECTS, SUBSCRIPTIONS, USERS, Upstream
from clock import FakeClock
from engine_support import TTLS, make_engine, user
from pydantic import BaseModel

from clients.billing import BillingCustomer, BillingInvoice, BillingSubscription
from clients.codec import ModelCodec, StructCodec
from clients.errors import CircuitOpen, RateLimited, UpstreamStatusError, UpstreamTimeout, UpstreamUnavailable
from clients.identity import MembersKey, MembersPage
from clients.projects import IssueNode, IssuePage, PageInfo, ProjectNode
from resolvers.cache import (
    CacheEngine,
    CachePolicy,
    CacheType,
    InProcessStore,
    L1Policy,
    StaleInfo,
    StaleLog,
)
from resolvers.cache.entry import WIRE_FORMAT, Entry, decode, encode
from resolvers.cache.l1 import L1Cache
from resolvers.cache.store import StoreWrite

SAMPLES: list[tuple[CacheType[Any, Any], Any]] = [
    (USERS, user("u-1")),
    (MEMBERS, MembersPage(data=[user("u-1"), user("u-2")], total_count=2, next_cursor="c2")),
    (CUSTOMERS, BillingCustomer(id="cus_1", org_id="org-1", name="Acme")),
    (
        SUBSCRIPTIONS,
        BillingSubscription(id="sub_1", customer="cus_1", plan="pro", status="active", seats=5, current_period_end=1),
    ),
    (
        INVOICES,
        [BillingInvoice(id="in_1", number="A-1", customer="cus_1", amount_due=100, currency="eur", status="open")],
    ),
    (PROJECTS, ProjectNode(id="proj-1", name="P", org_id="org-1", owner_id="u-1", state="ACTIVE")),
    (
        ISSUES,
        IssuePage(
            total_count=1,
            page_info=PageInfo(has_next_page=False, end_cursor=None),
            nodes=[IssueNode(id="i-1", title="T", state="OPEN", assignee_id=None, project_id="proj-1")],
        ),
    ),
]


@pytest.mark.parametrize(("ctype", "value"), SAMPLES, ids=[ctype.name for ctype, _ in SAMPLES])
def test_every_cached_shape_round_trips_exactly(ctype: CacheType[Any, Any], value: Any) -> None:
    entry = Entry(value=value, negative=False, stored_at=1.0, fresh_until=2.0, stale_until=3.0, error_until=4.0)
    assert decode(encode(entry, ctype.codec), ctype.codec) == entry


def test_negative_entries_are_not_a_cached_none_and_garbage_is_a_miss() -> None:
    negative = Entry(value=None, negative=True, stored_at=1.0, fresh_until=2.0, stale_until=2.0, error_until=2.0)
    decoded = decode(encode(negative, USERS.codec), USERS.codec)
    assert decoded is not None
    assert decoded.negative
    assert decoded.value is None
    assert decode(b"not json", USERS.codec) is None
    assert decode(b"[99, false, 0, 0, 0, 0, null]", USERS.codec) is None


def test_keys_carry_upstream_version_scope_and_a_hash_tag_but_no_secret() -> None:
    key = USERS.key("u-42", "mobius-gateway")
    assert key == f"c:identity:users:{USERS.version}:mobius-gateway:{{User:u-42}}"
    assert MEMBERS.key(MembersKey("org-1", 50, "a:b}{"), "s").endswith("{members:org-1:50:a%3Ab%7D%7B}")

    class Renamed(BaseModel):
        id: str
        display_name: str

    assert ModelCodec(Renamed).version != USERS.version


async def test_an_entry_written_in_the_previous_wire_format_is_a_miss(clock: FakeClock, users: Upstream) -> None:
    """Values were pydantic dumps in format 1; such an entry is fetched again, even when it reads."""
    store = InProcessStore(clock=clock)
    old = {"id": "u-1", "org_id": "org-1", "name": "Old", "updated_at": "2026-01-02T00:00:00Z", "etag": "e0"}
    raw = orjson.dumps([WIRE_FORMAT - 1, False, clock(), clock() + 60, clock() + 90, clock() + 360, old])
    await store.set_many([StoreWrite(key=USERS.key("u-1", "mobius-gateway"), data=raw, ttl_s=600.0)])
    engine = make_engine(clock, store)

    assert await engine.load_many(USERS, ["u-1"], users) == [users.data["u-1"]]
    assert users.batches == [["u-1"]]
    assert engine.stats["users"].errors == 0


def test_a_struct_shape_change_changes_the_key_version() -> None:
    class Renamed(msgspec.Struct, frozen=True, rename="camel"):
        id: str
        display_name: str

    assert StructCodec(Renamed).version != PROJECTS.version


async def test_only_misses_go_upstream_and_a_warm_batch_goes_nowhere(clock: FakeClock, users: Upstream) -> None:
    engine = make_engine(clock)

    assert await engine.load_many(USERS, ["u-1", "u-2"], users) == [users.data["u-1"], users.data["u-2"]]
    assert await engine.load_many(USERS, ["u-1", "u-2", "u-3"], users) == [users.data[k] for k in ("u-1", "u-2", "u-3")]
    assert await engine.load_many(USERS, ["u-3", "u-1"], users) == [users.data["u-3"], users.data["u-1"]]

    assert users.batches == [["u-1", "u-2"], ["u-3"]]
    assert engine.stats["users"].hits == 4
    assert engine.stats["users"].misses == 3


async def test_entries_expire_after_fresh_plus_stale_windows_by_the_clock(clock: FakeClock, users: Upstream) -> None:
    engine = make_engine(clock, stale_while_revalidate_s=0.0)
    await engine.load_many(USERS, ["u-1"], users)

    clock.advance(59.9)
    await engine.load_many(USERS, ["u-1"], users)
    assert len(users.batches) == 1

    clock.advance(0.1)
    users.data["u-1"] = user("u-1", name="Renamed")
    assert await engine.load_many(USERS, ["u-1"], users) == [users.data["u-1"]]
    assert len(users.batches) == 2


async def test_jitter_shortens_the_ttl_by_up_to_its_ratio(clock: FakeClock, users: Upstream) -> None:
    engine = make_engine(clock, jitter_ratio=0.5, stale_while_revalidate_s=0.0)  # jitter() is 1.0: TTL 60 -> 30
    await engine.load_many(USERS, ["u-1"], users)
    clock.advance(29.9)
    await engine.load_many(USERS, ["u-1"], users)
    assert len(users.batches) == 1
    clock.advance(0.1)
    await engine.load_many(USERS, ["u-1"], users)
    assert len(users.batches) == 2


async def test_not_found_is_cached_briefly_and_errors_never(clock: FakeClock, users: Upstream) -> None:
    engine = make_engine(clock)
    assert await engine.load_many(USERS, ["ghost"], users) == [None]
    assert await engine.load_many(USERS, ["ghost"], users) == [None]
    assert users.batches == [["ghost"]]
    clock.advance(10.0)
    users.data["ghost"] = user("ghost")
    assert await engine.load_many(USERS, ["ghost"], users) == [users.data["ghost"]]

    users.failure = UpstreamStatusError("upstream answered 400", upstream="identity", status=400)
    first = await engine.load_many(USERS, ["u-9"], users)
    second = await engine.load_many(USERS, ["u-9"], users)
    assert isinstance(first[0], UpstreamStatusError)
    assert isinstance(second[0], UpstreamStatusError)
    assert users.batches[-2:] == [["u-9"], ["u-9"]]


async def test_stale_while_revalidate_serves_at_once_and_refreshes_each_key_once(
    clock: FakeClock, users: Upstream
) -> None:
    engine = make_engine(clock)
    await engine.load_many(USERS, ["u-1"], users)
    old = users.data["u-1"]
    users.data["u-1"] = user("u-1", name="Renamed")
    users.gate = asyncio.Event()
    clock.advance(70)

    served = await asyncio.gather(*(engine.load_many(USERS, ["u-1"], users) for _ in range(5)))

    assert served == [[old]] * 5
    users.gate.set()
    await engine.drain()
    assert users.batches == [["u-1"], ["u-1"]]
    assert await engine.load_many(USERS, ["u-1"], users) == [users.data["u-1"]]
    assert len(users.batches) == 2


@pytest.mark.parametrize(
    "failure",
    [
        UpstreamUnavailable("upstream answered 503", upstream="identity"),
        CircuitOpen("breaker open", upstream="identity"),
        RateLimited("slow down", upstream="identity", retry_after_s=3),
        UpstreamTimeout("no answer", upstream="identity"),
    ],
    ids=["unavailable", "circuit-open", "rate-limited", "timeout"],
)
async def test_stale_if_error_serves_the_last_good_value_and_records_its_age(
    clock: FakeClock, users: Upstream, failure: UpstreamUnavailable
) -> None:
    engine = make_engine(clock)
    await engine.load_many(USERS, ["u-1"], users)
    clock.advance(100)
    users.failure = failure
    log = StaleLog()

    [value] = await engine.load_many(USERS, ["u-1"], users, log)

    assert value == users.data["u-1"]
    assert log.lookup(value) == StaleInfo(upstream="identity", age_s=100.0)
    assert engine.stats["users"].stale == 1


async def test_status_errors_and_the_end_of_the_window_are_not_served_stale(clock: FakeClock, users: Upstream) -> None:
    engine = make_engine(clock)
    await engine.load_many(USERS, ["u-1"], users)
    clock.advance(100)
    users.failure = UpstreamStatusError("upstream answered 404", upstream="identity", status=404)
    [not_found] = await engine.load_many(USERS, ["u-1"], users)
    assert isinstance(not_found, UpstreamStatusError)

    clock.advance(260)  # 60 fresh + 300 stale-if-error have passed
    users.failure = UpstreamUnavailable("down", upstream="identity")
    log = StaleLog()
    [down] = await engine.load_many(USERS, ["u-1"], users, log)
    assert isinstance(down, UpstreamUnavailable)
    assert log.marks == []
    assert log.lookup(down) is None


async def test_concurrent_misses_of_one_key_share_one_fetch(clock: FakeClock, users: Upstream) -> None:
    engine = make_engine(clock)
    users.gate = asyncio.Event()
    requests = [asyncio.ensure_future(engine.load_many(USERS, ["u-1", f"u-{n}"], users)) for n in (2, 3, 4)]
    await asyncio.sleep(0)
    users.gate.set()
    answers = await asyncio.gather(*requests)

    assert [answer[0] for answer in answers] == [users.data["u-1"]] * 3
    assert sorted(key for batch in users.batches for key in batch) == ["u-1", "u-2", "u-3", "u-4"]
    assert engine.stats["users"].coalesced == 2


async def test_a_cancelled_request_does_not_cancel_the_shared_fetch(clock: FakeClock, users: Upstream) -> None:
    engine = make_engine(clock)
    users.gate = asyncio.Event()
    first = asyncio.ensure_future(engine.load_many(USERS, ["u-1"], users))
    await asyncio.sleep(0)
    second = asyncio.ensure_future(engine.load_many(USERS, ["u-1"], users))
    await asyncio.sleep(0)
    first.cancel()
    users.gate.set()
    assert await second == [users.data["u-1"]]
    assert users.batches == [["u-1"]]


def test_l1_is_bounded_by_entries_and_bytes(clock: FakeClock) -> None:
    l1 = L1Cache(L1Policy(max_entries=3, max_bytes=250, ttl_s=5.0))
    entry: Entry[object] = Entry(
        value=1, negative=False, stored_at=0, fresh_until=2000, stale_until=2000, error_until=2000
    )
    for n in range(4):
        l1.put(f"k{n}", entry, 50, (), clock())
    assert len(l1) == 3
    assert l1.get("k0", clock()) is None
    l1.put("big", entry, 200, (), clock())
    assert l1.bytes <= 250
    assert l1.get("big", clock()) is entry
    clock.advance(5)
    assert l1.get("big", clock()) is None


def test_l1_answers_an_entry_no_longer_than_it_is_fresh(clock: FakeClock) -> None:
    l1 = L1Cache(L1Policy(ttl_s=5.0))
    entry: Entry[object] = Entry(
        value=1, negative=False, stored_at=0, fresh_until=clock() + 2, stale_until=clock() + 9, error_until=clock() + 9
    )
    l1.put("k", entry, 50, (), clock())
    clock.advance(1.5)
    assert l1.get("k", clock()) is entry
    clock.advance(0.5)
    assert l1.get("k", clock()) is None  # stale before the L1's own TTL is up
    assert len(l1) == 0


async def test_l1_answers_fresh_entries_within_its_own_short_ttl(clock: FakeClock, users: Upstream) -> None:
    store = InProcessStore(clock=clock)
    engine = make_engine(clock, store, l1=L1Policy(ttl_s=5.0))
    await engine.load_many(USERS, ["u-1"], users)
    await store.clear(at=clock.now, fence_s=30.0)  # the L1 still holds it
    await engine.load_many(USERS, ["u-1"], users)
    assert engine.stats["users"].l1_hits == 1
    assert len(users.batches) == 1
    clock.advance(5)
    await engine.load_many(USERS, ["u-1"], users)
    assert len(users.batches) == 2


async def test_a_missing_ttl_is_refused_at_construction(clock: FakeClock) -> None:
    with pytest.raises(ValueError, match="no TTL configured for cache types: users"):
        CacheEngine(
            store=InProcessStore(clock=clock),
            policy=CachePolicy(ttl_s={k: v for k, v in TTLS.items() if k != "users"}),
            types=CACHE_TYPES,
        )
