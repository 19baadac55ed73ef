"""The client-side rate limiter against the real sandbox on loopback, in memory and in Redis mode:
what an upstream teaches expires when it stops saying it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from clients.errors import RateLimitedLocally
from clients.resilience.ratelimit_headers import Quota
from clients.upstreams import Upstreams
from mobius.upstreams import build_upstreams
from tests.clients.resilience_support import FakeTime, StoreFor
from tests.clients.support import route_count, settings_with

USERS = "GET /v1/users"
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
    limiter = upstreams.identity.rest.http.pipeline.limiter
    await sandbox.faults("identity", rate_limit={"limit": 2, "window_s": 10})
    await upstreams.identity.users_by_ids(["user-1"])
    await upstreams.identity.users_by_ids(["user-2"])  # "remaining=0, reset=R" with "2;w=10"
    with pytest.raises(RateLimitedLocally) as caught:
        await upstreams.identity.users_by_ids(["user-3"])
    assert limiter.quota == Quota(limit=2, window_s=10)
    reset = caught.value.retry_after_s or 0
    assert 0 < reset <= 10

    await sandbox.faults("identity")  # the upstream lifts its limit and stops advertising it
    time.advance(reset)

    answered = [await upstreams.identity.users_by_ids([f"user-{n}"]) for n in range(1, 11)]
    assert all(answered)
    assert limiter.quota is None
    assert await route_count(sandbox, "identity", USERS) == 2 + 10
