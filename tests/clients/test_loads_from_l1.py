"""A key fresh in the cache engine's first level is answered when it is loaded, with no loop turn
(``ReadLoader.load``): primed, followed, counted and recorded as a batch's L1 hit is; an expired or
invalidated entry, or a value whose follows are not all at hand, takes the batch path (the follows
missing go in one batch)."""

from __future__ import annotations

import asyncio
from typing import Any

from clients.identity import MEMBERS, USERS, MembersKey
from clients.projects import ISSUES, PROJECT_PAGES, IssuesArgs, IssuesKey, ProjectsKey
from clients.upstreams import Upstreams
from resolvers.cache import CacheEngine, CachePolicy, InProcessStore, L1Policy
from resolvers.loaders import Loaders, Reads
from tests.clients.support import route_count

USERS_ROUTE = "GET /v1/users"
GRAPHQL = "POST /graphql"


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def engine_for(upstreams: Upstreams, clock: Clock) -> CacheEngine:
    types = Reads(upstreams).cache_types
    policy = CachePolicy(ttl_s={ctype.name: 60.0 for ctype in types}, jitter_ratio=0.0, l1=L1Policy(ttl_s=5.0))
    return CacheEngine(store=InProcessStore(clock=clock), policy=policy, types=types, clock=clock)


async def test_a_user_fresh_in_l1_is_answered_at_load_and_recorded(sandbox: Any, upstreams: Upstreams) -> None:
    clock = Clock()
    engine = engine_for(upstreams, clock)
    first = await Loaders.build(upstreams, engine.request())[USERS].load("user-3")
    hits = engine.stats["users"].l1_hits

    cache = engine.request(provenance=True)
    loaded = Loaders.build(upstreams, cache)[USERS].load("user-3")

    assert loaded.done()
    assert loaded.result() == first
    await asyncio.sleep(0)  # the hits of a loop turn are counted at its end
    assert engine.stats["users"].l1_hits == hits + 1
    assert cache.provenance is not None
    assert cache.provenance.tags == {"User:user-3", f"org:{first.org_id}"}
    assert await route_count(sandbox, "identity", USERS_ROUTE) == 1


async def test_an_expired_or_invalidated_entry_is_not_answered_at_load(sandbox: Any, upstreams: Upstreams) -> None:
    clock = Clock()
    engine = engine_for(upstreams, clock)
    await Loaders.build(upstreams, engine.request())[USERS].load_many(["user-3", "user-4"])

    clock.now += 6  # past the L1's 5 s, inside the entry's 60 s
    expired = Loaders.build(upstreams, engine.request())[USERS].load("user-3")
    await engine.invalidate(entities=["User:user-4"])
    invalidated = Loaders.build(upstreams, engine.request())[USERS].load("user-4")

    assert not expired.done()
    assert not invalidated.done()
    assert (await expired) is not None
    assert (await invalidated) is not None
    assert await route_count(sandbox, "identity", USERS_ROUTE) == 2  # the first batch, then user-4 again


async def test_a_members_page_answered_at_load_primes_its_users(sandbox: Any, upstreams: Upstreams) -> None:
    clock = Clock()
    engine = engine_for(upstreams, clock)
    key = MembersKey(org_id="org-1", first=5)
    await Loaders.build(upstreams, engine.request())[MEMBERS].load(key)

    loaders = Loaders.build(upstreams, engine.request())
    page = loaders[MEMBERS].load(key)

    assert page.done()
    members = page.result().data
    assert members
    primed = [loaders[USERS].load(member.id) for member in members]
    assert all(future.done() for future in primed)
    assert [future.result() for future in primed] == members


async def test_a_page_is_answered_at_load_only_with_its_follows_at_hand(sandbox: Any, upstreams: Upstreams) -> None:
    clock = Clock()
    engine = engine_for(upstreams, clock)
    key = ProjectsKey(org_id="org-1", first=5, issues=(IssuesArgs(first=3),))
    first = await Loaders.build(upstreams, engine.request())[PROJECT_PAGES].load(key)
    project_ids = [project.id for project in first.nodes]
    assert project_ids

    loaders = Loaders.build(upstreams, engine.request())
    page = loaders[PROJECT_PAGES].load(key)
    assert page.done()
    assert all(loaders[ISSUES].load(IssuesKey(project_id=pid, first=3)).done() for pid in project_ids)

    assert len(project_ids) > 1
    requests = await route_count(sandbox, "projects", GRAPHQL)
    await engine.invalidate(tags=[f"project:{pid}" for pid in project_ids[:2]])  # their issue pages, not the page
    loaders = Loaders.build(upstreams, engine.request())
    page = loaders[PROJECT_PAGES].load(key)
    assert not page.done()
    assert (await page) == first
    assert await route_count(sandbox, "projects", GRAPHQL) == requests + 1  # both issue pages in one batch
    assert all(loaders[ISSUES].load(IssuesKey(project_id=pid, first=3)).done() for pid in project_ids)
