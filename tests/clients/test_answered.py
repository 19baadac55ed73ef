"""``ReadLoader.answered``: a key's answer where it is at hand (primed, loaded, fresh in the L1),
``UNANSWERED`` (and the key loaded) where it is not; primed values kept without a future keep
``load``, ``prime`` and ``clear`` as they were."""

from __future__ import annotations

import asyncio
from typing import Any

from clients.errors import UpstreamUnavailable
from clients.identity import IDENTITY, MEMBERS, USERS, IdentityUser, MembersKey
from clients.upstreams import Upstreams
from resolvers.cache import CacheEngine, CachePolicy, InProcessStore, L1Policy
from resolvers.loaders import UNANSWERED, Loaders, Reads
from tests.clients.support import route_count

USERS_ROUTE = "GET /v1/users"


async def members_of(loaders: Loaders) -> list[IdentityUser]:
    page = await loaders[MEMBERS].load(MembersKey(org_id="org-1", first=5))
    assert page is not None
    assert page.data
    return list(page.data)


async def test_a_primed_user_is_answered_and_loaded_without_a_request(sandbox: Any, upstreams: Upstreams) -> None:
    loaders = Loaders.build(upstreams)
    members = await members_of(loaders)
    users = loaders[USERS]

    answered = [users.answered(member.id) for member in members]
    loaded = [users.load(member.id) for member in members]

    assert answered == members
    assert all(future.done() for future in loaded)
    assert [future.result() for future in loaded] == members
    assert await route_count(sandbox, "identity", USERS_ROUTE) == 0


async def test_a_key_not_at_hand_is_unanswered_and_loaded_once(sandbox: Any, upstreams: Upstreams) -> None:
    users = Loaders.build(upstreams)[USERS]

    assert users.answered("user-3") is UNANSWERED
    assert users.answered("user-missing") is UNANSWERED
    user = await users.load("user-3")

    assert user is not None
    assert user.id == "user-3"
    assert users.answered("user-3") == user
    assert users.answered("user-missing") is None
    assert await route_count(sandbox, "identity", USERS_ROUTE) == 1


async def test_a_failed_key_stays_unanswered(sandbox: Any, upstreams: Upstreams) -> None:
    await upstreams[IDENTITY].users_by_ids(["user-1"])  # hold a token: faults skip the token endpoint anyway
    await sandbox.faults("identity", error_rate=1.0, status=503)
    users = Loaders.build(upstreams)[USERS]

    assert users.answered("user-4") is UNANSWERED
    [failed] = await asyncio.gather(users.load("user-4"), return_exceptions=True)

    assert isinstance(failed, UpstreamUnavailable)
    assert users.answered("user-4") is UNANSWERED


async def test_a_user_fresh_in_l1_is_answered_and_counted_once(sandbox: Any, upstreams: Upstreams) -> None:
    types = Reads(upstreams).cache_types
    policy = CachePolicy(ttl_s={ctype.name: 60.0 for ctype in types}, jitter_ratio=0.0, l1=L1Policy(ttl_s=5.0))
    engine = CacheEngine(store=InProcessStore(clock=lambda: 1_000.0), policy=policy, types=types, clock=lambda: 1_000.0)
    first = await Loaders.build(upstreams, engine.request())[USERS].load("user-3")
    hits = engine.stats["users"].l1_hits

    users = Loaders.build(upstreams, engine.request())[USERS]
    answered = users.answered("user-3")
    again = users.answered("user-3")
    loaded = users.load("user-3")

    assert answered == first
    assert again == first
    assert loaded.done()
    assert loaded.result() == first
    await asyncio.sleep(0)  # the hits of a loop turn are counted at its end
    assert engine.stats["users"].l1_hits == hits + 1
    assert await route_count(sandbox, "identity", USERS_ROUTE) == 1


async def test_the_first_prime_of_a_key_wins_and_clear_forgets_it(sandbox: Any, upstreams: Upstreams) -> None:
    loaders = Loaders.build(upstreams)
    [member, other, *_] = await members_of(loaders)
    users = loaders[USERS]

    users.prime(member.id, other)
    users.prime(member.id, UpstreamUnavailable("down", upstream="identity"))
    kept = users.load(member.id)
    users.clear(member.id).prime(member.id, other)

    assert kept.result() == member
    assert users.answered(member.id) == other
    assert users.load(member.id).result() == other
    assert await route_count(sandbox, "identity", USERS_ROUTE) == 0


async def test_users_loaded_ahead_that_a_page_primed_cost_no_request(sandbox: Any, upstreams: Upstreams) -> None:
    loaders = Loaders.build(upstreams)
    members = await members_of(loaders)

    loaders.load_ahead(USERS, [member.id for member in members])
    loaders.load_ahead(USERS, ["user-40"])

    assert loaders[USERS].unsettled() != []
    assert [loaders[USERS].answered(member.id) for member in members] == members
    assert (await loaders[USERS].load("user-40")) is not None
    assert await route_count(sandbox, "identity", USERS_ROUTE) == 1
