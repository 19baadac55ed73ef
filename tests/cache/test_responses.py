"""The response cache on the in-process store with an injected clock: keys, freshness, what is not
stored, invalidation by tag, its in-process level and its wire form."""

from __future__ import annotations

import pytest
from cache_support import CACHE_TYPES
from clock import FakeClock
from config_support import offline_upstreams

from mobius.cache_setup import response_version
from mobius.settings import Settings, load_settings
from resolvers.cache import (
    CacheEngine,
    CachePolicy,
    InProcessStore,
    L1Policy,
    Provenance,
    ResponseCache,
    ResponsePolicy,
)
from resolvers.cache.responses import StoredResponse, decode, encode

TTLS = {ctype.name: 60.0 for ctype in CACHE_TYPES}
BODY = b'{"data":{"user":{"name":"Ada"}}}'


@pytest.fixture
def store(clock: FakeClock) -> InProcessStore:
    return InProcessStore(clock=clock)


def engine_on(store: InProcessStore, clock: FakeClock) -> CacheEngine:
    policy = CachePolicy(ttl_s=TTLS, jitter_ratio=0.0, stale_while_revalidate_s=30.0, stale_if_error_s=300.0, l1=None)
    return CacheEngine(store=store, policy=policy, types=CACHE_TYPES, clock=clock)


def responses_on(store: InProcessStore, clock: FakeClock, **policy: object) -> ResponseCache:
    options: dict[str, object] = {"max_ttl_s": 60.0, "l1": None, **policy}
    return ResponseCache(store=store, policy=ResponsePolicy(**options), version="v1", clock=clock)  # type: ignore[arg-type]  # test options


async def put(responses: ResponseCache, key: str, body: bytes, provenance: Provenance, generation: int = 0) -> bool:
    """What the lean path does: keep the response as it is sent, then write it to the store."""
    write = responses.keep(key, body, provenance, generation)
    if write is not None:
        await responses.write(write)
    return write is not None


def built_from(tags: set[str], fresh_until: float, started: float = 0.0) -> Provenance:
    """A request's provenance; ``started`` before any fence a test sets, unless it says otherwise."""
    provenance = Provenance(started=started)
    provenance.record(tags, fresh_until)
    return provenance


def test_keys_separate_documents_operations_variables_and_callers_but_not_key_order(
    store: InProcessStore, clock: FakeClock
) -> None:
    responses = responses_on(store, clock)
    admin = ("admin", ["cache:admin", "pii:read"], "user-1")
    variables = {"a": 1, "b": {"c": 2, "d": 3}}
    key = responses.key("query Q($a: ID, $b: ID) { x }", "Q", {"a": 1, "b": {"c": 2, "d": 3}}, admin)

    assert key.startswith("c:responses:v1:")
    assert key == responses.key("query Q($a: ID, $b: ID) { x }", "Q", {"b": {"d": 3, "c": 2}, "a": 1}, admin)
    others = {
        responses.key("query Q($a: ID, $b: ID) { y }", "Q", {"a": 1, "b": {"c": 2, "d": 3}}, admin),
        responses.key("query Q($a: ID, $b: ID) { x }", None, {"a": 1, "b": {"c": 2, "d": 3}}, admin),
        responses.key("query Q($a: ID, $b: ID) { x }", "Q", {"a": 2, "b": {"c": 2, "d": 3}}, admin),
        responses.key("query Q($a: ID, $b: ID) { x }", "Q", variables, ("admin", ["pii:read"], "user-1")),
        responses.key("query Q($a: ID, $b: ID) { x }", "Q", variables, ("admin", admin[1], "user-2")),
        responses.key("query Q($a: ID, $b: ID) { x }", "Q", variables, ("other", admin[1], "user-1")),
    }
    assert key not in others
    assert len(others) == 6
    assert responses.key("{ x }", None, None, admin) == responses.key("{ x }", None, {}, admin)
    assert ResponseCache(store=store, policy=ResponsePolicy(), version="v2").key("{ x }", None, None, admin) != (
        responses.key("{ x }", None, None, admin)
    )


async def test_a_response_lives_as_long_as_its_freshest_to_expire_entry_allows_capped_by_max_ttl(
    store: InProcessStore, clock: FakeClock
) -> None:
    responses = responses_on(store, clock, max_ttl_s=30.0)
    assert await put(responses, "short", BODY, built_from({"User:u-1"}, clock.now + 10))
    assert await put(responses, "long", BODY, built_from({"User:u-2"}, clock.now + 100))

    clock.advance(9.9)
    assert [await responses.get("short"), await responses.get("long")] == [BODY, BODY]
    clock.advance(0.2)
    assert await responses.get("short") is None
    clock.advance(19.8)
    assert await responses.get("long") == BODY
    clock.advance(0.2)
    assert await responses.get("long") is None
    assert (responses.stats.hits, responses.stats.misses, responses.stats.stores) == (3, 2, 2)


async def test_what_may_not_be_reused_is_not_stored(store: InProcessStore, clock: FakeClock) -> None:
    responses = responses_on(store, clock, max_entry_bytes=1024)
    spoiled = built_from({"User:u-1"}, clock.now + 60)
    spoiled.spoil()

    assert not await put(responses, "spoiled", BODY, spoiled)
    assert not await put(responses, "past-fresh", BODY, built_from(set(), clock.now))
    assert not await put(responses, "too-large", b" " * 1025, built_from(set(), clock.now + 60))
    responses.evict([], ["User:u-9"])
    assert not await put(responses, "raced", BODY, built_from(set(), clock.now + 60))  # invalidated meanwhile
    assert await put(responses, "raced", BODY, built_from(set(), clock.now + 60), responses.generation)

    assert len(store) == 1
    assert (responses.stats.skipped, responses.stats.stores) == (4, 1)


async def test_invalidating_a_tag_drops_the_responses_that_carry_it(store: InProcessStore, clock: FakeClock) -> None:
    engine = engine_on(store, clock)
    responses = responses_on(store, clock)
    engine.add_local_level(responses)
    await put(responses, "r1", BODY, built_from({"User:u-1", "org:org-1"}, clock.now + 60))
    await put(responses, "r2", BODY, built_from({"User:u-2", "org:org-1"}, clock.now + 60))

    await engine.invalidate(entities=["User:u-1"])
    assert [await responses.get("r1"), await responses.get("r2")] == [None, BODY]
    generation = responses.generation

    await engine.invalidate(tags=["org:org-1"])
    assert await responses.get("r2") is None
    assert responses.generation > generation > 0


async def test_the_in_process_level_is_evicted_by_key_tag_and_clear(store: InProcessStore, clock: FakeClock) -> None:
    responses = responses_on(store, clock, l1=L1Policy(max_entries=10, ttl_s=5.0))
    await put(responses, "r1", BODY, built_from({"User:u-1"}, clock.now + 60))
    await put(responses, "r2", BODY, built_from({"User:u-2"}, clock.now + 60))
    await put(responses, "r3", BODY, built_from({"User:u-3"}, clock.now + 60))
    await store.clear(at=clock.now, fence_s=30.0)  # only the in-process level holds them now

    responses.evict(["r1"], ["User:u-2"])
    assert [await responses.get(key) for key in ("r1", "r2", "r3")] == [None, None, BODY]
    responses.clear()
    assert await responses.get("r3") is None
    assert responses.stats.l1_hits == 1


def test_the_wire_form_round_trips_and_garbage_is_a_miss() -> None:
    tags = ("User:u-1", 'odd"tag\n')
    stored = decode(encode(BODY, 1234.5, tags))
    assert stored is not None
    assert (stored.body, stored.fresh_until, stored.tags()) == (BODY, 1234.5, tags)
    assert decode(b"") is None
    assert decode(encode(BODY, 1234.5, tags)[:14]) is None
    assert decode(b"\x02" + encode(BODY, 1234.5, tags)[1:]) is None
    assert StoredResponse(body=BODY, fresh_until=1.0, tags_json=b"{not json").tags() == ()


async def test_a_response_overlapped_by_another_replicas_invalidation_is_not_stored(
    store: InProcessStore, clock: FakeClock
) -> None:
    here = responses_on(store, clock, l1=L1Policy(max_entries=10, ttl_s=5.0))
    there = engine_on(store, clock)  # another replica on the same shared store, its pub/sub not yet arrived
    started = clock.now
    clock.advance(1.0)
    await there.invalidate(tags=["org:org-1"])

    await put(here, "r1", BODY, built_from({"org:org-1"}, clock.now + 60, started=started))
    assert await here.get("r1") is None  # neither in the store nor left in this replica's level
    assert (here.stats.stores, here.stats.fenced) == (1, 1)

    clock.advance(1.0)  # a request that began after the invalidation stores its answer
    assert await put(here, "r2", BODY, built_from({"org:org-1"}, clock.now + 60, started=clock.now))
    assert len(store) == 1


def settings_for(**cache: object) -> Settings:
    return load_settings(upstreams=offline_upstreams(), cache=cache)


def test_the_version_changes_with_the_schema_and_the_upstream_credentials() -> None:
    settings = settings_for()
    version = response_version(settings, "type Query { a: Int }")
    assert version == response_version(settings, "type Query { a: Int }")
    assert version != response_version(settings, "type Query { a: String }")
    assert version != response_version(settings_for(credential_scopes={"projects": "token-2"}), "type Query { a: Int }")
