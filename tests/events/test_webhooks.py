"""``POST /webhooks/{upstream}`` on a real gateway and a real Redis: every answer a sender can get,
and what reaches the durable stream (nothing, unless accepted)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import aiohttp
import orjson
import pytest
import redis.asyncio as redis
from events_support import (
    BILLING_PREVIOUS_SECRET,
    BILLING_SECRET,
    PROJECTS_SECRET,
    SUPPORT_SECRET,
    invoice_body,
    sign_github,
    sign_standard,
    webhook_settings,
)
from harness import GatewayServer
from prometheus_client.parser import text_string_to_metric_families

from mobius.events.codec import decode
from mobius.events.stream import RedisEventStream
from mobius.settings import SecretRef
from sandbox import SandboxCredentials, SandboxUrls


@pytest.fixture
def server(
    sandbox_server: tuple[SandboxUrls, SandboxCredentials], redis_config: dict[str, Any]
) -> Iterator[GatewayServer]:
    settings = webhook_settings(sandbox_server, redis=redis_config, events={"worker": False})
    with GatewayServer(settings) as gateway:
        yield gateway


@pytest.fixture
async def stream(redis_config: dict[str, Any]) -> AsyncIterator[RedisEventStream]:
    """The gateway's stream, seen from the test's own loop."""
    stream = RedisEventStream(
        redis.Redis.from_url(redis_config["url"]), prefix=redis_config["key_prefix"], replay_ttl_s=900, version_ttl_s=60
    )
    yield stream
    await stream.close()


async def post(
    http: aiohttp.ClientSession, server: GatewayServer, upstream: str, body: bytes, headers: dict[str, str]
) -> tuple[int, dict[str, Any]]:
    async with http.post(f"{server.url}/webhooks/{upstream}", data=body, headers=headers) as response:
        return response.status, orjson.loads(await response.read())


async def stream_events(server: GatewayServer, redis_config: dict[str, Any]) -> list[Any]:
    client = redis.Redis.from_url(redis_config["url"])
    try:
        rows = await client.xrange(f"{redis_config['key_prefix']}{{events}}")
    finally:
        await client.aclose()
    return [decode(fields[b"e"]) for _, fields in rows]


def now() -> int:
    return int(time.time())


async def test_a_signed_billing_webhook_is_accepted_into_the_stream(
    server: GatewayServer, http: aiohttp.ClientSession, redis_config: dict[str, Any]
) -> None:
    body = invoice_body("in-7", 3)
    status, answer = await post(http, server, "billing", body, sign_standard(BILLING_SECRET, "msg-1", now(), body))
    assert (status, answer) == (202, {"accepted": 1, "replayed": 0, "stale": 0})
    [event] = await stream_events(server, redis_config)
    assert (event.id, event.source, event.type, event.entity_type, event.entity_id, event.version) == (
        "msg-1",
        "billing",
        "invoice.paid",
        "Invoice",
        "in-7",
        3,
    )
    assert event.data["org_id"] == "org-1"


async def test_the_previous_secret_and_several_signatures_are_accepted_during_rotation(
    server: GatewayServer, http: aiohttp.ClientSession
) -> None:
    body = invoice_body("in-8")
    old = sign_standard(BILLING_PREVIOUS_SECRET, "msg-old", now(), body)
    assert (await post(http, server, "billing", body, old))[0] == 202

    body = invoice_body("in-9")
    current = sign_standard(BILLING_SECRET, "msg-both", now(), body)
    unknown = sign_standard("whsec_" + "QUFBQUFBQUFBQUFBQUFBQQ==", "msg-both", now(), body)
    both = {**current, "webhook-signature": f"{unknown['webhook-signature']} {current['webhook-signature']}"}
    assert (await post(http, server, "billing", body, both))[0] == 202


@pytest.mark.parametrize("skew_s", [-360, 360])
async def test_a_timestamp_outside_the_tolerance_is_refused(
    server: GatewayServer, http: aiohttp.ClientSession, redis_config: dict[str, Any], skew_s: int
) -> None:
    """A minute past the 300 s tolerance either way: ``now()`` drops the fraction of a second, and a
    loaded machine may take seconds to deliver, so a skew of 301 s could arrive inside it."""
    body = invoice_body()
    headers = sign_standard(BILLING_SECRET, "msg-stale", now() + skew_s, body)
    status, answer = await post(http, server, "billing", body, headers)
    assert (status, answer) == (401, {"error": "webhook-timestamp outside the tolerance"})
    assert await stream_events(server, redis_config) == []


async def test_bad_or_missing_signatures_are_401_and_change_nothing(
    server: GatewayServer, http: aiohttp.ClientSession, redis_config: dict[str, Any]
) -> None:
    body = invoice_body()
    signed = sign_standard(BILLING_SECRET, "msg-2", now(), body)
    tampered = invoice_body("in-666")
    assert (await post(http, server, "billing", tampered, signed))[0] == 401
    unsigned = {key: value for key, value in signed.items() if key != "webhook-signature"}
    assert (await post(http, server, "billing", body, unsigned))[0] == 401
    wrong_key = sign_github("not-the-secret", "d-1", body)
    assert (await post(http, server, "projects", body, wrong_key))[0] == 401
    assert (await post(http, server, "support", body, {"X-GitHub-Delivery": "d-2"}))[0] == 401
    assert await stream_events(server, redis_config) == []


async def test_malformed_headers_and_bodies_are_400(
    server: GatewayServer, http: aiohttp.ClientSession, redis_config: dict[str, Any]
) -> None:
    body = invoice_body()
    bad_timestamp = {**sign_standard(BILLING_SECRET, "msg-3", now(), body), "webhook-timestamp": "soon"}
    assert (await post(http, server, "billing", body, bad_timestamp))[0] == 400
    bad_id = sign_standard(BILLING_SECRET, "msg 3 with spaces", now(), body)
    assert (await post(http, server, "billing", body, bad_id))[0] == 400
    bad_hex = {"X-GitHub-Delivery": "d-3", "X-Hub-Signature-256": "sha256=zz"}
    assert (await post(http, server, "projects", body, bad_hex))[0] == 400

    not_json = b"{not json"
    status, answer = await post(
        http, server, "billing", not_json, sign_standard(BILLING_SECRET, "msg-4", now(), not_json)
    )
    assert status == 400
    assert answer["error"].startswith("malformed body")
    wrong_shape = orjson.dumps({"action": "opened", "issue": {"id": "issue-1"}, "occurred_at": 1})
    status, _ = await post(http, server, "projects", wrong_shape, sign_github(PROJECTS_SECRET, "d-4", wrong_shape))
    assert status == 400
    assert await stream_events(server, redis_config) == []


async def test_unknown_upstreams_are_404_and_large_bodies_413(
    server: GatewayServer, http: aiohttp.ClientSession
) -> None:
    body = invoice_body()
    assert (await post(http, server, "nope", body, {}))[0] == 404
    assert (await post(http, server, "identity", body, {}))[0] == 404  # no webhook secret configured
    assert (await post(http, server, "ledger", body, {}))[0] == 404  # a vendor, not an upstream
    big = b"x" * 4096
    status, answer = await post(http, server, "support", big, sign_github(SUPPORT_SECRET, "d-5", big))
    assert (status, answer) == (413, {"error": "body larger than 2048 bytes"})


async def test_a_replayed_delivery_is_acknowledged_and_not_appended(
    server: GatewayServer, http: aiohttp.ClientSession, redis_config: dict[str, Any]
) -> None:
    body = orjson.dumps(
        {
            "action": "closed",
            "occurred_at": time.time(),
            "issue": {"id": "issue-3", "project_id": "proj-1", "state": "CLOSED", "version": 2},
        }
    )
    headers = sign_github(PROJECTS_SECRET, "delivery-9", body)
    assert (await post(http, server, "projects", body, headers))[0] == 202
    assert await post(http, server, "projects", body, headers) == (200, {"accepted": 0, "replayed": 1, "stale": 0})
    assert len(await stream_events(server, redis_config)) == 1


async def test_an_event_older_than_the_applied_version_is_acknowledged_and_not_appended(
    server: GatewayServer, stream: RedisEventStream, http: aiohttp.ClientSession, redis_config: dict[str, Any]
) -> None:
    newer = invoice_body("in-5", 5)
    assert (await post(http, server, "billing", newer, sign_standard(BILLING_SECRET, "m-5", now(), newer)))[0] == 202
    [event] = await stream_events(server, redis_config)
    await stream.mark_applied(event)
    older = invoice_body("in-5", 4)
    status, answer = await post(http, server, "billing", older, sign_standard(BILLING_SECRET, "m-4", now(), older))
    assert (status, answer) == (200, {"accepted": 0, "replayed": 0, "stale": 1})
    assert len(await stream_events(server, redis_config)) == 1


async def test_intake_outcomes_are_counted_by_source(server: GatewayServer, http: aiohttp.ClientSession) -> None:
    async def counts() -> tuple[float, float]:
        async with http.get(f"{server.url}/metrics") as response:
            text = await response.text()
        found = {
            sample.labels["outcome"]: sample.value
            for family in text_string_to_metric_families(text)
            for sample in family.samples
            if sample.name == "mobius_events_total" and sample.labels.get("source") == "billing"
        }
        return found.get("accepted", 0.0), found.get("rejected_signature", 0.0)

    before = await counts()
    body = invoice_body("in-77")
    await post(http, server, "billing", body, sign_standard(BILLING_SECRET, "m-77", now(), body))
    await post(http, server, "billing", body, sign_standard("whsec_" + "c29tZW9uZS1lbHNl", "m-78", now(), body))
    after = await counts()
    assert (after[0] - before[0], after[1] - before[1]) == (1, 1)


async def test_an_unreadable_secret_is_503_so_the_sender_retries(
    sandbox_server: tuple[SandboxUrls, SandboxCredentials], http: aiohttp.ClientSession
) -> None:
    settings = webhook_settings(sandbox_server, redis=None, events={"worker": False})
    section = settings.upstreams["projects"]
    assert section.webhook is not None
    unreadable = section.webhook.model_copy(update={"secret": SecretRef(env="MOBIUS_TEST_NO_SUCH_SECRET")})
    projects = section.model_copy(update={"webhook": unreadable})
    broken = settings.model_copy(update={"upstreams": settings.upstreams.model_copy(update={"projects": projects})})
    with GatewayServer(broken) as gateway:
        body = invoice_body()
        status, answer = await post(http, gateway, "projects", body, sign_github(PROJECTS_SECRET, "d-no", body))
    assert (status, answer) == (503, {"error": "the webhook secret is unavailable; retry later"})
