"""The response cache end to end: real gateways over loopback, the real sandbox, the real Redis."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp
import redis.asyncio as redis
import yaml
from cache_gateway_support import NO_REQUESTS, Counted, assignee_outside_the_members_page
from clock import FakeClock
from config_support import offline_upstreams
from harness import ADMIN_HEADERS, GatewayServer, Sandbox, free_port, upstream_requests
from response_cache_support import RESPONSE_STATS, Client, SandboxServerInfo, settings_with_response_cache

from mobius.cli import main

READER_HEADERS = {"Authorization": "Bearer reader-token"}
USER_7 = '{ user(id: "user-7") { name etag } }'
UPDATE_USER = """mutation ($etag: String!) {
  updateUser(id: "user-7", input: {name: "Grace Renamed"}, ifMatch: $etag) { name }
}"""


async def eventually(condition: Callable[[], bool | Awaitable[bool]], what: str) -> None:
    """Wait for something another thread does (a pub/sub delivery, a write that follows the
    response), never for a TTL."""

    async def holds() -> bool:
        outcome = condition()
        return await outcome if inspect.isawaitable(outcome) else outcome

    for _ in range(1000):
        if await holds():
            return
        await asyncio.sleep(0.005)
    raise AssertionError(f"within 5 s: {what}")


def responses_in_redis(redis_url: str, prefix: str, count: int) -> Callable[[], Awaitable[bool]]:
    """Whether ``count`` responses are in Redis (they are written there after being sent)."""

    async def check() -> bool:
        client = redis.Redis.from_url(redis_url)
        try:
            keys = [key async for key in client.scan_iter(match=f"{prefix}c:responses:*")]
        finally:
            await client.aclose()
        return len(keys) == count

    return check


async def test_a_hit_sends_the_stored_bytes_and_asks_no_upstream(client: Client, sandbox: Sandbox) -> None:
    async with Counted(sandbox) as cold_counts:
        miss = await client.dashboard()
    async with Counted(sandbox) as hit_counts:
        hit = await client.dashboard()

    assert (miss.status, miss.cache) == (200, "MISS")
    assert "errors" not in miss.json
    assert sum(cold_counts.values()) > 0
    assert (hit.status, hit.cache) == (200, "HIT")
    assert hit.body == miss.body
    assert hit.headers["Content-Type"] == miss.headers["Content-Type"] == "application/json; charset=utf-8"
    assert hit_counts == NO_REQUESTS
    stats = await client.stats()  # the fixture's first request was stored too
    assert (stats["enabled"], stats["stores"], stats["l1Hits"], stats["misses"]) == (True, 2, 1, 2)


async def test_another_replica_reads_the_response_from_redis(
    client: Client,
    sandbox: Sandbox,
    sandbox_server: SandboxServerInfo,
    redis_config: dict[str, str],
    clock: FakeClock,
) -> None:
    stored = await client.dashboard()
    await eventually(responses_in_redis(redis_config["url"], redis_config["key_prefix"], 2), "both responses stored")
    settings = settings_with_response_cache(sandbox_server, redis_config)
    with GatewayServer(settings, cache_clock=clock) as replica_server:
        replica = Client(replica_server.url, client.http)
        async with Counted(sandbox) as counts:
            from_redis = await replica.dashboard()
        stats = await replica.stats()

    assert (from_redis.cache, from_redis.body) == ("HIT", stored.body)
    assert counts == NO_REQUESTS
    assert (stats["hits"], stats["l1Hits"], stats["misses"]) == (1, 0, 0)


async def test_variables_and_operation_names_are_separate_entries(client: Client) -> None:
    org_1 = await client.dashboard("org-1")
    org_2 = await client.dashboard("org-2")
    two_operations = 'query A { user(id: "user-1") { name } } query B { user(id: "user-2") { name } }'
    a = await client.post(two_operations, operation_name="A")
    b = await client.post(two_operations, operation_name="B")

    assert [answer.cache for answer in (org_1, org_2, a, b)] == ["MISS"] * 4
    assert org_1.json["data"]["organization"]["name"] != org_2.json["data"]["organization"]["name"]
    assert a.json["data"]["user"]["name"] != b.json["data"]["user"]["name"]
    again = [
        await client.dashboard("org-2"),
        await client.dashboard("org-1"),
        await client.post(two_operations, operation_name="B"),
        await client.post(two_operations, operation_name="A"),
    ]
    assert [(answer.cache, answer.body) for answer in again] == [
        ("HIT", org_2.body),
        ("HIT", org_1.body),
        ("HIT", b.body),
        ("HIT", a.body),
    ]


async def test_callers_with_other_scopes_or_identities_never_share_a_response(client: Client) -> None:
    query = '{ viewer { id } user(id: "user-3") { name email } }'

    admin = await client.post(query, headers=ADMIN_HEADERS)
    reader = await client.post(query, headers=READER_HEADERS)
    anonymous = await client.post(query)
    anonymous_again = await client.post(query)
    admin_again = await client.post(query, headers=ADMIN_HEADERS)
    reader_again = await client.post(query, headers=READER_HEADERS)

    assert (admin.cache, reader.cache, admin_again.cache, reader_again.cache) == ("MISS", "MISS", "HIT", "HIT")
    assert admin.json["data"]["viewer"] == {"id": "user-1"}
    assert reader.json["data"]["viewer"] == {"id": "user-2"}
    assert "@" in admin.json["data"]["user"]["email"]
    assert (admin_again.body, reader_again.body) == (admin.body, reader.body)
    # Without `pii:read` the email is refused: that answer has an error, so it is never stored either.
    assert (anonymous.cache, anonymous_again.cache) == ("MISS", "MISS")
    name = admin.json["data"]["user"]["name"]
    assert anonymous.json["data"] == {"viewer": None, "user": {"name": name, "email": None}}
    assert [error["extensions"]["code"] for error in anonymous_again.json["errors"]] == ["FORBIDDEN"]


async def test_responses_with_errors_or_fallbacks_are_not_stored(client: Client, sandbox: Sandbox) -> None:
    refused = '{ organization(id: "org-1") { members(first: 1000) { totalCount } } }'
    assert [(await client.post(refused)).cache for _ in range(2)] == ["MISS", "MISS"]

    await sandbox.faults("billing", error_rate=1.0, status=503, routes=["GET /v1/invoices"])
    with_fallback = [await client.dashboard() for _ in range(2)]
    assert [answer.cache for answer in with_fallback] == ["MISS", "MISS"]
    assert with_fallback[1].json["data"]["organization"]["billing"]["invoices"] == []
    assert with_fallback[1].json["errors"][0]["extensions"]["fallback"] is True

    await sandbox.faults("billing")
    assert (await client.dashboard()).cache == "MISS"
    assert (await client.dashboard()).cache == "HIT"
    stats = await client.stats()
    assert (stats["skipped"], stats["stores"]) == (4, 2)


async def test_stale_served_data_is_not_stored(client: Client, sandbox: Sandbox, clock: FakeClock) -> None:
    fresh = await client.dashboard()
    clock.advance(400)  # every entry is past fresh and stale-while-revalidate, inside stale-if-error
    await sandbox.faults("billing", error_rate=1.0, status=503)

    stale = [await client.dashboard() for _ in range(2)]

    assert [answer.cache for answer in stale] == ["MISS", "MISS"]
    assert stale[1].json["data"]["organization"]["billing"] == fresh.json["data"]["organization"]["billing"]
    assert stale[1].json["extensions"]["stale"][0]["upstream"] == "billing"


async def test_live_fields_and_mutations_bypass_the_cache(client: Client, sandbox: Sandbox) -> None:
    live = [
        "{ upstreams { name state } }",
        RESPONSE_STATS,
        "query { ...Live } fragment Live on Query { upstreams { name } }",
    ]
    for query in live:
        answers = [await client.post(query) for _ in range(2)]
        assert [answer.cache for answer in answers] == ["BYPASS", "BYPASS"], query

    close = 'mutation { closeIssue(id: "issue-1") { id state } }'
    async with Counted(sandbox) as counts:
        closed = [await client.post(close, headers=ADMIN_HEADERS) for _ in range(2)]
    assert [answer.cache for answer in closed] == ["BYPASS", "BYPASS"]
    assert counts["projects"] >= 2, "each mutation reached the upstream"
    stats = await client.stats()  # counts itself: 6 live queries, 2 mutations, this one
    assert (stats["stores"], stats["bypasses"]) == (1, 9)


async def test_invalidating_an_entity_or_a_tag_drops_the_responses_built_from_it(
    client: Client, sandbox: Sandbox, clock: FakeClock
) -> None:
    stored = await client.dashboard()
    assert (await client.dashboard()).cache == "HIT"

    await client.invalidate({"entities": [f"User:{assignee_outside_the_members_page()}"]})
    clock.advance(1.0)  # a rebuild within the fence's clock-skew margin of the invalidation is not kept
    async with Counted(sandbox) as counts:
        rebuilt = await client.dashboard()
    assert (rebuilt.cache, rebuilt.body) == ("MISS", stored.body)
    assert counts == upstream_requests(identity=1)

    assert (await client.dashboard()).cache == "HIT"
    await client.invalidate({"tags": ["org:org-1"]})
    assert (await client.dashboard()).cache == "MISS"


async def test_the_cli_invalidation_drops_the_responses_of_a_running_gateway(
    client: Client, server: GatewayServer, redis_config: dict[str, str], tmp_path: Path
) -> None:
    config = tmp_path / "mobius.yaml"
    config.write_text(yaml.safe_dump({"redis": redis_config, "upstreams": offline_upstreams()}))
    await client.post(USER_7)
    await eventually(responses_in_redis(redis_config["url"], redis_config["key_prefix"], 2), "stored in Redis")
    assert (await client.post(USER_7)).cache == "HIT"
    evictions = server.app.state.responses.generation

    command = ["cache", "invalidate", "--config", str(config), "--entity", "User:user-7"]
    assert await asyncio.to_thread(main, command) == 0
    await eventually(lambda: server.app.state.responses.generation > evictions, "the gateway heard of it")

    assert (await client.post(USER_7)).cache == "MISS"


async def test_a_mutation_drops_the_responses_that_show_what_it_changed(client: Client, sandbox: Sandbox) -> None:
    before = await client.post(USER_7)
    assert (await client.post(USER_7)).cache == "HIT"

    renamed = await client.post(UPDATE_USER, {"etag": before.json["data"]["user"]["etag"]}, headers=ADMIN_HEADERS)
    after = await client.post(USER_7)

    assert renamed.json["data"]["updateUser"]["name"] == "Grace Renamed"
    assert (after.cache, after.json["data"]["user"]["name"]) == ("MISS", "Grace Renamed")

    open_invoices = '{ organization(id: "org-1") { billing { invoices(first: 20, status: "open") { id } } } }'
    listed = await client.post(open_invoices)
    assert (await client.post(open_invoices)).cache == "HIT"
    first = listed.json["data"]["organization"]["billing"]["invoices"][0]["id"]
    pay = 'mutation ($id: ID!) { payInvoice(id: $id, idempotencyKey: "k-1") { id } }'
    await client.post(pay, {"id": first}, headers=ADMIN_HEADERS)
    async with Counted(sandbox) as counts:
        relisted = await client.post(open_invoices)
    assert relisted.cache == "MISS"
    assert counts["billing"] == 2, "the customer and its invoice list are read again from billing"
    assert first not in [invoice["id"] for invoice in relisted.json["data"]["organization"]["billing"]["invoices"]]


async def test_an_invalidation_on_one_replica_evicts_the_others(
    client: Client, sandbox_server: SandboxServerInfo, redis_config: dict[str, str], clock: FakeClock
) -> None:
    settings = settings_with_response_cache(sandbox_server, redis_config)
    with GatewayServer(settings, cache_clock=clock) as other_server:
        other = Client(other_server.url, client.http)
        listener = other_server.app.state.cache.listener
        await eventually(listener.subscribed.is_set, "the replica listens for invalidations")
        await other.post(USER_7)
        await eventually(responses_in_redis(redis_config["url"], redis_config["key_prefix"], 2), "stored in Redis")
        assert (await other.post(USER_7)).cache == "HIT"  # from its own in-process level
        evictions = other_server.app.state.responses.generation

        etag = (await client.post(USER_7)).json["data"]["user"]["etag"]
        await client.post(UPDATE_USER, {"etag": etag}, headers=ADMIN_HEADERS)
        await eventually(lambda: other_server.app.state.responses.generation > evictions, "the eviction arrived")

        after = await other.post(USER_7)
    assert (after.cache, after.json["data"]["user"]["name"]) == ("MISS", "Grace Renamed")


async def test_a_response_lives_no_longer_than_max_ttl_nor_its_entries_freshness(
    sandbox_server: SandboxServerInfo, sandbox: Sandbox, http: aiohttp.ClientSession, redis_config: dict[str, str]
) -> None:
    clock = FakeClock()
    settings = settings_with_response_cache(sandbox_server, redis_config, max_ttl_s=20)
    with GatewayServer(settings, cache_clock=clock) as server:
        client = Client(server.url, http)
        user = '{ user(id: "user-4") { name } }'
        invoices = '{ organization(id: "org-1") { billing { invoices(first: 5) { id } } } }'
        await client.post(user)
        await client.post(invoices)
        await eventually(responses_in_redis(redis_config["url"], redis_config["key_prefix"], 2), "both stored")
        clock.advance(19.9)  # past the in-process level's 5 s: these hits come from Redis
        assert [(await client.post(q)).cache for q in (user, invoices)] == ["HIT", "HIT"]
        clock.advance(0.2)  # past max_ttl_s (20 s); the entries are still fresh (users 60 s, invoices 30 s)
        assert [(await client.post(q)).cache for q in (user, invoices)] == ["MISS", "MISS"]

    settings = settings_with_response_cache(sandbox_server, redis_config, max_ttl_s=600)
    with GatewayServer(settings, cache_clock=clock) as server:
        client = Client(server.url, http)
        await client.invalidate({"all": True})
        clock.advance(1.0)  # what began with the clear is not stored (its fence): ask after it
        await client.post(invoices)
        await eventually(responses_in_redis(redis_config["url"], redis_config["key_prefix"], 1), "stored")
        clock.advance(29.9)
        assert (await client.post(invoices)).cache == "HIT"
        clock.advance(0.2)  # invoices are fresh for 30 s: so is a response built from them
        assert (await client.post(invoices)).cache == "MISS"


async def test_an_unreachable_redis_still_answers_every_request(
    sandbox_server: SandboxServerInfo, sandbox: Sandbox, http: aiohttp.ClientSession
) -> None:
    settings = settings_with_response_cache(sandbox_server, {"url": f"redis://127.0.0.1:{free_port()}/0"})
    with GatewayServer(settings) as server:
        client = Client(server.url, http)
        first, second = await client.dashboard(), await client.dashboard()
        stats = await client.stats()

    assert "errors" not in first.json
    assert first.status == second.status == 200
    assert first.json == second.json
    assert stats["errors"] > 0
    assert stats["hits"] == 0


async def test_the_in_process_store_caches_responses_and_invalidates_them(
    sandbox_server: SandboxServerInfo, sandbox: Sandbox, http: aiohttp.ClientSession
) -> None:
    with GatewayServer(settings_with_response_cache(sandbox_server)) as server:
        client = Client(server.url, http)
        stored = await client.dashboard()
        hit = await client.dashboard()
        await client.invalidate({"entities": ["Organization:org-1"]})
        rebuilt = await client.dashboard()
        stats = await client.stats()

    assert (stored.cache, hit.cache, rebuilt.cache) == ("MISS", "HIT", "MISS")
    assert hit.body == stored.body == rebuilt.body
    assert (stats["hits"], stats["l1Hits"], stats["stores"]) == (1, 0, 2)


async def test_an_unknown_bearer_token_is_refused_before_the_response_cache(client: Client) -> None:
    query = "{ __typename }"
    assert [(await client.post(query)).cache for _ in range(2)] == ["MISS", "HIT"]

    refused = await client.post(query, headers={"Authorization": "Bearer nope"})
    async with client.http.get(
        f"{client.url}/graphql", params={"query": query}, headers={"Authorization": "Bearer nope"}
    ) as response:
        over_get = (response.status, await response.read(), response.headers["WWW-Authenticate"])

    assert (refused.status, refused.body, refused.headers["WWW-Authenticate"]) == over_get
    assert refused.status == 401
    assert refused.json == {"errors": [{"message": "unknown bearer token", "extensions": {"code": "UNAUTHENTICATED"}}]}
    assert refused.cache is None
