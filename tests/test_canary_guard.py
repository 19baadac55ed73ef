"""The leak guard itself: it must find a needle wherever captured output or Redis holds it."""

from __future__ import annotations

import redis.asyncio as redis
from canary import CANARY, CANARY_CALLER_TOKEN, CANARY_CREDENTIALS, leaks
from redis_support import keys_containing

NEEDLE = "needle-0f6b"


def test_every_harness_credential_carries_the_canary() -> None:
    credentials = [
        CANARY_CREDENTIALS.identity.client_secret,
        CANARY_CREDENTIALS.billing.api_key,
        CANARY_CREDENTIALS.billing.signing_secret,
        CANARY_CREDENTIALS.projects.token,
        CANARY_CALLER_TOKEN,
    ]
    assert all(CANARY in credential for credential in credentials)


def test_leaks_are_found_in_logs_and_in_each_captured_section() -> None:
    sections = [("Captured stdout call", "ok"), ("Captured stderr teardown", f"x{CANARY}y")]

    assert leaks([], sections) == ["Captured stderr teardown"]
    assert leaks([f"INFO a {CANARY}"], []) == ["logging"]
    assert leaks(["INFO a"], [("Captured stdout call", "ok")]) == []


async def test_the_redis_scan_reads_key_names_and_every_value_type(redis_prefix: str, redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    try:
        await client.set(f"{redis_prefix}clean", "nothing here")
        await client.set(f"{redis_prefix}name-{NEEDLE}", "x")
        await client.set(f"{redis_prefix}string", f"a{NEEDLE}")
        await client.hset(f"{redis_prefix}hash", mapping={"f": f"v{NEEDLE}"})
        await client.hset(f"{redis_prefix}hash-field", mapping={NEEDLE: "v"})
        await client.rpush(f"{redis_prefix}list", "a", NEEDLE)
        await client.sadd(f"{redis_prefix}set", NEEDLE)
        await client.zadd(f"{redis_prefix}zset", {NEEDLE: 1.0})
        await client.xadd(f"{redis_prefix}stream", {"f": NEEDLE})

        assert await keys_containing(client, f"{redis_prefix}*", NEEDLE) == 8
        assert await keys_containing(client, f"{redis_prefix}*", CANARY) == 0
    finally:
        await client.aclose()
