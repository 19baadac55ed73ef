"""Identical upstream reads in flight at once share one call when an upstream's `share_reads` is on."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from harness import ADMIN_HEADERS, Gateway, GatewayServer, Sandbox

from tests.clients.support import route_count, settings_with

USERS = "GET /v1/users"
USER_1 = '{ user(id: "user-1") { id name etag } }'
UPSTREAMS = "{ upstreams { name sharedReads } }"
HELD_MS = 600
"""How long the sandbox holds each `GET /v1/users`: the window in which the reads overlap."""


@asynccontextmanager
async def uncached_gateway(sandbox: Sandbox, *, share_reads: bool) -> AsyncIterator[Gateway]:
    """A gateway without the entity cache (which coalesces concurrent loads of a key on its own)."""
    settings = settings_with(sandbox.urls, sandbox.credentials, identity={"share_reads": share_reads})
    with GatewayServer(settings) as server:
        gateway = Gateway(url=server.url, http=sandbox.http)
        await gateway.query('{ user(id: "user-2") { id } }')  # a token first: every read below is the first call
        await sandbox.faults("identity", latency_ms=HELD_MS, routes=[USERS])
        yield gateway


@pytest.fixture
async def sharing(sandbox: Sandbox) -> AsyncIterator[Gateway]:
    async with uncached_gateway(sandbox, share_reads=True) as gateway:
        yield gateway


async def shared_reads(gateway: Gateway, upstream: str) -> int:
    result = await gateway.query(UPSTREAMS)
    counts: dict[str, int] = {entry["name"]: entry["sharedReads"] for entry in result["data"]["upstreams"]}
    return counts[upstream]


async def test_identical_reads_in_flight_together_reach_the_upstream_once(sharing: Gateway, sandbox: Sandbox) -> None:
    before = await route_count(sandbox, "identity", USERS)

    results = await asyncio.gather(*(sharing.query(USER_1) for _ in range(5)))

    assert all(result == results[0] for result in results)
    assert results[0]["data"]["user"]["id"] == "user-1"
    assert await route_count(sandbox, "identity", USERS) - before == 1
    assert await shared_reads(sharing, "identity") == 4


async def test_without_share_reads_every_request_reads_for_itself(sandbox: Sandbox) -> None:
    async with uncached_gateway(sandbox, share_reads=False) as gateway:
        before = await route_count(sandbox, "identity", USERS)

        await asyncio.gather(*(gateway.query(USER_1) for _ in range(3)))

        assert await route_count(sandbox, "identity", USERS) - before == 3
        assert await shared_reads(gateway, "identity") == 0


async def test_a_read_asked_for_after_a_write_does_not_join_one_begun_before_it(
    sharing: Gateway, sandbox: Sandbox
) -> None:
    etag = (await asyncio.wait_for(_read_without_delay(sharing, sandbox), timeout=10))["etag"]
    before = await route_count(sandbox, "identity", USERS)
    first = asyncio.create_task(sharing.query(USER_1))
    await _until_seen(sandbox, USERS, before + 1)

    renamed = await sharing.query(
        'mutation ($etag: String!) { updateUser(id: "user-1", input: {name: "Ada Shared"}, ifMatch: $etag) { name } }',
        {"etag": etag},
        headers=ADMIN_HEADERS,
    )
    second = await sharing.query(USER_1)

    assert renamed["data"]["updateUser"]["name"] == "Ada Shared"
    assert second["data"]["user"]["name"] == "Ada Shared", "its own read, begun after the write"
    assert "errors" not in await first
    assert await route_count(sandbox, "identity", USERS) - before == 2


async def test_a_waiter_keeps_its_own_deadline(sharing: Gateway) -> None:
    leader = asyncio.create_task(sharing.query(USER_1))
    await asyncio.sleep(0.1)

    hurried = await sharing.query(USER_1, headers={"Mobius-Deadline-Ms": "150"})

    assert hurried["data"]["user"] is None
    assert hurried["errors"][0]["extensions"]["code"] == "DEADLINE_EXCEEDED"
    assert (await leader)["data"]["user"]["id"] == "user-1", "the shared call went on for the others"


async def _read_without_delay(gateway: Gateway, sandbox: Sandbox) -> dict[str, Any]:
    await sandbox.faults("identity")
    user: dict[str, Any] = (await gateway.query(USER_1))["data"]["user"]
    await sandbox.faults("identity", latency_ms=HELD_MS, routes=[USERS])
    return user


async def _until_seen(sandbox: Sandbox, route: str, count: int, *, attempts: int = 100) -> None:
    """Until the sandbox has counted ``count`` requests on ``route`` (polled, bounded)."""
    for _ in range(attempts):
        if await route_count(sandbox, "identity", route) >= count:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"{route} never reached {count} requests")
