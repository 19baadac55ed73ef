"""The client-side rate limiter against the real sandbox on loopback, in memory and in Redis mode:
what an upstream teaches expires when it stops saying it, and a configured quota keeps a strict
fixed-window upstream free of 429s across replicas."""

from __future__ import annotations

import asyncio
import random
import time as real_time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import aiohttp
import pytest
from canary import CANARY_CREDENTIALS
from harness import reset_sandbox

from clients.billing import BILLING
from clients.errors import RateLimited, RateLimitedLocally
from clients.identity import IDENTITY
from clients.resilience.ratelimit_headers import Quota
from clients.resilience.ratelimit_store import WindowKind
from clients.upstreams import Upstreams
from mobius.upstreams import build_upstreams
from sandbox import SandboxServer, SandboxUrls
from tests.clients.resilience_support import FakeTime, StoreFor
from tests.clients.support import route_count, settings_with
from tests.clock import FakeClock

USERS = "GET /v1/users"
CUSTOMERS = "GET /v1/customers"
NO_RETRY = {"retry": {"attempts": 1}}


@pytest.fixture
async def identity_on_fake_time(sandbox: Any, store_for: StoreFor) -> AsyncIterator[tuple[Upstreams, FakeTime]]:
    time = FakeTime()
    settings = settings_with(sandbox.urls, sandbox.credentials, identity={"resilience": NO_RETRY})
    upstreams = build_upstreams(settings, rate_limit_store=store_for(time), time=time.source())
    await upstreams.start()
    try:
        yield upstreams, time
    finally:
        await upstreams.close()


async def test_a_policy_identity_stopped_advertising_ends_at_the_advertised_reset(
    sandbox: Any, identity_on_fake_time: tuple[Upstreams, FakeTime]
) -> None:
    upstreams, time = identity_on_fake_time
    limiter = upstreams.transport("identity").pipeline.limiter
    await sandbox.faults("identity", rate_limit={"limit": 2, "window_s": 10})
    await upstreams[IDENTITY].users_by_ids(["user-1"])
    await upstreams[IDENTITY].users_by_ids(["user-2"])  # "remaining=0, reset=R" with "2;w=10"
    with pytest.raises(RateLimitedLocally) as caught:
        await upstreams[IDENTITY].users_by_ids(["user-3"])
    assert limiter.quota == Quota(limit=2, window_s=10)
    reset = caught.value.retry_after_s or 0
    assert 0 < reset <= 10

    await sandbox.faults("identity")  # the upstream lifts its limit and stops advertising it
    time.advance(reset)

    answered = [await upstreams[IDENTITY].users_by_ids([f"user-{n}"]) for n in range(1, 11)]
    assert all(answered)
    assert limiter.quota is None
    assert await route_count(sandbox, "identity", USERS) == 2 + 10


STEPS = (1 / 32, 1 / 16, 3 / 32, 1 / 8, 1 / 4, 3 / 8)
"""Fake-clock steps between rounds: exact in binary, uneven, so rounds straddle window boundaries."""


@pytest.fixture(scope="module")
def sandbox_clock() -> FakeClock:
    """Wall-clock seconds, starting at a whole second near now (billing checks signatures made on
    the real clock against it)."""
    return FakeClock(start=float(int(real_time.time())))


@pytest.fixture(scope="module")
def fixed_window_sandbox(sandbox_clock: FakeClock) -> Iterator[SandboxUrls]:
    """A sandbox of its own whose windows (and token expiry) run on the test's fake wall clock."""
    with SandboxServer(credentials=CANARY_CREDENTIALS, clock=sandbox_clock) as urls:
        yield urls


@pytest.mark.parametrize("kind", ["fixed", "sliding"])
async def test_two_replicas_under_a_static_quota_get_no_429_from_a_fixed_window_upstream(
    fixed_window_sandbox: SandboxUrls,
    sandbox_clock: FakeClock,
    store_for: StoreFor,
    http: aiohttp.ClientSession,
    kind: WindowKind,
) -> None:
    time = FakeTime(wall=sandbox_clock)
    box = await reset_sandbox(fixed_window_sandbox, CANARY_CREDENTIALS, http)
    await box.faults("billing", rate_limit={"limit": 5, "window_s": 1})
    rate_limit = {"limit": 5, "window_s": 1.0, "window": kind, "learn": False}
    settings = settings_with(box.urls, box.credentials, billing={"resilience": {**NO_RETRY, "rate_limit": rate_limit}})
    replicas = [build_upstreams(settings, rate_limit_store=store_for(time), time=time.source()) for _ in range(2)]
    outcomes: list[str] = []

    async def call(upstreams: Upstreams) -> None:
        try:
            await upstreams[BILLING].customer_for_org("org-1")
        except RateLimitedLocally:
            outcomes.append("held back")
        except RateLimited:
            outcomes.append("429")
        else:
            outcomes.append("answered")

    steps = random.Random(3)
    started = time.wall()
    for upstreams in replicas:
        await upstreams.start()
    try:
        for _ in range(40):
            await asyncio.gather(*(call(replicas[n % 2]) for n in range(12)))
            time.advance(steps.choice(STEPS))
    finally:
        for upstreams in replicas:
            await upstreams.close()

    assert outcomes.count("429") == 0
    assert outcomes.count("answered") == await route_count(box, "billing", CUSTOMERS)
    assert outcomes.count("answered") >= 5 * int((time.wall() - started) // (1 + max(STEPS)))
