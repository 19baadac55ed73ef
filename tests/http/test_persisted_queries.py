"""Automatic persisted queries (Apollo's protocol) against the real gateway: a hash the gateway does
not know asks the client for its document, a verified document is registered (in Redis for every
replica, bounded), and later requests send the hash alone, over POST or GET."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator
from typing import Any

import aiohttp
import orjson
import pytest
import redis.asyncio as redis
from harness import GatewayServer, Sandbox
from http_support import BOTH, GRAPHQL_RESPONSE, Endpoint, SandboxServerInfo, serving, settings_for


def fresh_query() -> str:
    """A document no other test registered (registrations outlive a test in the shared gateway)."""
    return f'# {uuid.uuid4()}\n{{ user(id: "user-1") {{ id name }} }}'


def digest(query: str) -> str:
    return hashlib.sha256(query.encode()).hexdigest()


def apq(query: str, *, send_text: bool) -> dict[str, Any]:
    payload: dict[str, Any] = {"extensions": {"persistedQuery": {"version": 1, "sha256Hash": digest(query)}}}
    if send_text:
        payload["query"] = query
    return payload


@pytest.mark.parametrize("accept", BOTH)
async def test_an_unknown_hash_asks_for_the_document_and_then_runs_alone(endpoint: Endpoint, accept: str) -> None:
    query = fresh_query()

    unknown = await endpoint.post(apq(query, send_text=False), accept=accept)
    registered = await endpoint.post(apq(query, send_text=True), accept=accept)
    by_hash = await endpoint.post(apq(query, send_text=False), accept=accept)

    assert unknown.status == (400 if accept == GRAPHQL_RESPONSE else 200)
    assert unknown.json == {
        "errors": [{"message": "PersistedQueryNotFound", "extensions": {"code": "PERSISTED_QUERY_NOT_FOUND"}}]
    }
    assert registered.status == by_hash.status == 200
    assert registered.json == by_hash.json
    assert registered.json["data"]["user"]["id"] == "user-1"


async def test_a_hash_runs_over_get_and_as_a_document_id(endpoint: Endpoint) -> None:
    query = fresh_query()
    extensions = orjson.dumps(apq(query, send_text=False)["extensions"]).decode()

    registered_over_get = await endpoint.get({"query": query, "extensions": extensions})
    over_get = await endpoint.get({"extensions": extensions})
    as_document_id = await endpoint.post({"documentId": f"sha256:{digest(query)}"})
    bare_id_over_get = await endpoint.get({"documentId": digest(query)})

    answers = [registered_over_get, over_get, as_document_id, bare_id_over_get]
    assert [reply.status for reply in answers] == [200] * 4
    assert all(reply.json == registered_over_get.json for reply in answers)
    assert registered_over_get.json["data"]["user"]["id"] == "user-1"


async def test_a_mutation_known_by_hash_still_needs_post(endpoint: Endpoint, sandbox: Sandbox) -> None:
    mutation = f'# {uuid.uuid4()}\nmutation {{ closeIssue(id: "issue-1") {{ id }} }}'
    extensions = orjson.dumps(apq(mutation, send_text=False)["extensions"]).decode()

    registering = await endpoint.get({"query": mutation, "extensions": extensions})
    by_hash = await endpoint.get({"extensions": extensions})

    assert (registering.status, registering.codes) == (405, ["METHOD_NOT_ALLOWED"])
    assert (by_hash.status, by_hash.codes) == (405, ["METHOD_NOT_ALLOWED"])
    assert sum((await sandbox.api_requests()).values()) == 0


async def test_a_document_that_does_not_hash_to_its_id_is_refused_and_not_registered(endpoint: Endpoint) -> None:
    query, other = fresh_query(), fresh_query()
    lying = {"query": other, "extensions": {"persistedQuery": {"version": 1, "sha256Hash": digest(query)}}}

    refused = await endpoint.post(lying, accept=GRAPHQL_RESPONSE)
    afterwards = await endpoint.post(apq(query, send_text=False))

    assert (refused.status, refused.codes) == (400, ["PERSISTED_QUERY_HASH_MISMATCH"])
    assert afterwards.codes == ["PERSISTED_QUERY_NOT_FOUND"]


@pytest.mark.parametrize(
    "persisted",
    [
        {"version": 2, "sha256Hash": "0" * 64},
        {"sha256Hash": "0" * 64},
        {"version": 1, "sha256Hash": "not-hex" * 9},
        {"version": 1, "sha256Hash": "0" * 63},
        {"version": 1},
        "sha256:" + "0" * 64,
    ],
)
async def test_a_malformed_persisted_query_is_400(endpoint: Endpoint, persisted: object) -> None:
    reply = await endpoint.post({"extensions": {"persistedQuery": persisted}}, accept=GRAPHQL_RESPONSE)

    assert (reply.status, reply.codes) == (400, ["BAD_REQUEST"])


async def test_document_id_and_persisted_query_must_agree(endpoint: Endpoint) -> None:
    query = fresh_query()
    payload = {**apq(query, send_text=True), "documentId": f"sha256:{'0' * 64}"}

    assert (await endpoint.post(payload)).status == 400


@pytest.fixture
def replicas(sandbox_server: SandboxServerInfo, redis_config: dict[str, str]) -> Iterator[tuple[GatewayServer, ...]]:
    settings = settings_for(sandbox_server, redis=redis_config, graphql={"apq": {"ttl_s": 600, "max_query_bytes": 200}})
    with serving(settings) as first, serving(settings) as second:
        yield first, second


async def test_a_registration_is_kept_in_redis_for_every_replica_with_a_ttl(
    replicas: tuple[GatewayServer, GatewayServer],
    http: aiohttp.ClientSession,
    redis_url: str,
    redis_config: dict[str, str],
) -> None:
    first, second = (Endpoint(replica.url, http) for replica in replicas)
    query = fresh_query()

    await first.post(apq(query, send_text=True))
    on_the_other_replica = await second.post(apq(query, send_text=False))

    assert on_the_other_replica.json["data"]["user"]["id"] == "user-1"
    client = redis.Redis.from_url(redis_url)
    try:
        key = f"{redis_config['key_prefix']}c:apq:sha256:{digest(query)}"
        assert await client.get(key) == query.encode()
        assert 0 < await client.ttl(key) <= 600
    finally:
        await client.aclose()


async def test_a_document_over_the_bound_runs_but_is_not_registered(
    replicas: tuple[GatewayServer, GatewayServer], http: aiohttp.ClientSession
) -> None:
    endpoint = Endpoint(replicas[0].url, http)
    query = fresh_query() + " " * 300

    ran = await endpoint.post(apq(query, send_text=True))
    later = await endpoint.post(apq(query, send_text=False))

    assert ran.json["data"]["user"]["id"] == "user-1"
    assert later.codes == ["PERSISTED_QUERY_NOT_FOUND"]


@pytest.fixture(scope="module")
def without_apq(sandbox_server: SandboxServerInfo) -> Iterator[GatewayServer]:
    with serving(settings_for(sandbox_server, graphql={"apq": {"enabled": False}})) as server:
        yield server


async def test_with_apq_off_a_hash_is_not_supported(without_apq: GatewayServer, http: aiohttp.ClientSession) -> None:
    endpoint = Endpoint(without_apq.url, http)
    query = fresh_query()

    for payload in (apq(query, send_text=False), apq(query, send_text=True)):
        reply = await endpoint.post(payload, accept=GRAPHQL_RESPONSE)
        assert (reply.status, reply.codes) == (400, ["PERSISTED_QUERY_NOT_SUPPORTED"])
    assert (await endpoint.post({"query": query})).json["data"]["user"]["id"] == "user-1"


async def test_a_document_that_does_not_validate_is_not_registered(endpoint: Endpoint) -> None:
    query = f"# {uuid.uuid4()}\n{{ nope }}"

    invalid = await endpoint.post(apq(query, send_text=True))
    later = await endpoint.post(apq(query, send_text=False))

    assert invalid.codes == ["GRAPHQL_VALIDATION_FAILED"]
    assert later.codes == ["PERSISTED_QUERY_NOT_FOUND"]
