"""The read-through engine's tags: invalidating an entity drops the lists that embed it and follows
links, tag sets stay bounded, and loads record their tags and freshness (provenance)."""

from __future__ import annotations

from typing import Any

import pytest
from cache_support import CUSTOMERS, MEMBERS, SUBSCRIPTIONS, USERS, Upstream
from clock import FakeClock
from engine_support import make_engine, user

from clients.billing import BillingCustomer, BillingSubscription
from clients.errors import UpstreamUnavailable
from clients.identity import MembersKey, MembersPage
from resolvers.cache import (
    InProcessStore,
    L1Policy,
    UnknownEntity,
)


async def test_invalidating_an_entity_drops_it_and_the_lists_that_embed_it(clock: FakeClock, users: Upstream) -> None:
    engine = make_engine(clock)
    pages = Upstream({"org-1": MembersPage(data=[users.data["u-1"]], total_count=1)})
    page_key = MembersKey("org-1", 50)

    async def members(keys: Any) -> list[Any]:
        return await pages([key.org_id for key in keys])

    await engine.load_many(USERS, ["u-1", "u-2"], users)
    await engine.load_many(MEMBERS, [page_key], members)

    assert await engine.invalidate(entities=["User:u-1"]) == 2
    await engine.load_many(USERS, ["u-1", "u-2"], users)
    await engine.load_many(MEMBERS, [page_key], members)
    assert users.batches[-1] == ["u-1"]
    assert len(pages.batches) == 2

    with pytest.raises(UnknownEntity):
        await engine.invalidate(entities=["Invoice:in_1"])
    with pytest.raises(ValueError, match="Type:id"):
        await engine.invalidate(entities=["u-1"])


async def test_invalidating_an_org_tag_follows_links_to_its_billing(clock: FakeClock) -> None:
    engine = make_engine(clock)
    customer = BillingCustomer(id="cus_1", org_id="org-1", name="Acme")
    subscription = BillingSubscription(
        id="sub_1", customer="cus_1", plan="pro", status="active", seats=5, current_period_end=1
    )
    customers = Upstream({"org-1": customer})
    subscriptions = Upstream({"cus_1": subscription})
    await engine.load_many(CUSTOMERS, ["org-1"], customers)
    await engine.load_many(SUBSCRIPTIONS, ["cus_1"], subscriptions)

    assert await engine.invalidate(tags=["org:org-1"]) == 2
    await engine.load_many(CUSTOMERS, ["org-1"], customers)
    await engine.load_many(SUBSCRIPTIONS, ["cus_1"], subscriptions)
    assert (len(customers.batches), len(subscriptions.batches)) == (2, 2)


async def test_the_in_process_store_keeps_tag_sets_no_larger_than_its_entries(clock: FakeClock) -> None:
    store = InProcessStore(max_entries=2, clock=clock)
    engine = make_engine(clock, store)
    many = Upstream({f"u-{i}": user(f"u-{i}", org_id=f"org-{i}") for i in range(10)})
    await engine.load_many(USERS, list(many.data), many)

    assert len(store) == 2
    assert sorted(store._tags) == ["org:org-8", "org:org-9"]  # evicted entries left their tags
    assert await store.invalidate([], [f"org:org-{i}" for i in range(8)], at=0.0, fence_s=30.0) == []
    assert await engine.invalidate(tags=["org:org-9"]) == 1
    clock.advance(10_000)
    assert await store.get_many([USERS.key("u-8", "mobius-gateway")]) == [None]
    assert len(store) == 0
    assert store._tags == {}


async def test_loads_record_their_tags_and_the_earliest_freshness(clock: FakeClock, users: Upstream) -> None:
    engine = make_engine(clock)
    first = engine.request(provenance=True)
    await first.load(USERS, ["u-1", "ghost"], users)
    clock.advance(5)
    members = Upstream({"org-1": MembersPage(data=[user("u-2")], total_count=1, next_cursor=None)})
    await first.load(MEMBERS, [MembersKey("org-1", 2)], lambda keys: members([key.org_id for key in keys]))

    provenance = first.provenance
    assert provenance is not None
    assert provenance.complete
    assert provenance.tags == {"User:u-1", "org:org-1", "User:ghost", "User:u-2"}
    assert provenance.fresh_until == 1_000 + 10  # the not-found answer is fresh for negative_ttl_s
    assert engine.request().provenance is None


@pytest.mark.parametrize("l1", [None, L1Policy(ttl_s=5.0)], ids=["from-the-store", "from-the-l1"])
async def test_a_cached_load_records_the_entrys_own_freshness(
    clock: FakeClock, users: Upstream, l1: L1Policy | None
) -> None:
    engine = make_engine(clock, l1=l1)
    await engine.load_many(USERS, ["u-1"], users)
    clock.advance(2)

    again = engine.request(provenance=True)
    await again.load(USERS, ["u-1"], users)

    assert len(users.batches) == 1
    assert again.provenance is not None
    assert (again.provenance.tags, again.provenance.fresh_until) == ({"User:u-1", "org:org-1"}, 1_000 + 60)


async def test_a_failed_or_stale_load_spoils_the_provenance(clock: FakeClock, users: Upstream) -> None:
    engine = make_engine(clock)
    await engine.load_many(USERS, ["u-1"], users)
    clock.advance(100)  # past fresh and stale-while-revalidate, inside stale-if-error
    users.failure = UpstreamUnavailable("upstream answered 503", upstream="identity")

    stale = engine.request(provenance=True)
    assert await stale.load(USERS, ["u-1"], users) == [users.data["u-1"]]
    failed = engine.request(provenance=True)
    await failed.load(USERS, ["u-9"], users)

    assert stale.provenance is not None
    assert failed.provenance is not None
    assert not stale.provenance.complete
    assert not failed.provenance.complete
