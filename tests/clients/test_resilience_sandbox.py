"""The resilience pipeline against the real sandbox on loopback, with a fake clock.

Request counts come from the sandbox's own counters (``/_sandbox/stats``).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest

from clients.billing import BILLING
from clients.errors import (
    CircuitOpen,
    DeadlineExceeded,
    RateLimited,
    RateLimitedLocally,
    TokenEndpointUnavailable,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from clients.identity import IDENTITY
from clients.resilience.breaker import BreakerState
from clients.resilience.deadline import deadline_scope
from clients.upstreams import Upstreams
from mobius.upstreams import build_upstreams
from tests.clients.resilience_support import FakeTime
from tests.clients.support import route_count, settings_with

CUSTOMERS = "GET /v1/customers"
LENIENT_BREAKER = {"minimum_calls": 1000, "window_size": 1000}
BREAKER = {"minimum_calls": 4, "window_size": 4, "failure_rate_threshold": 50, "open_s": 30, "half_open_probes": 3}
NO_RETRY = {"attempts": 1}


@pytest.fixture
async def built(sandbox: Any) -> AsyncIterator[list[Upstreams]]:
    made: list[Upstreams] = []
    yield made
    for upstreams in made:
        await upstreams.close()


async def billing_with(sandbox: Any, built: list[Upstreams], time: FakeTime, **billing: Any) -> Upstreams:
    settings = settings_with(sandbox.urls, sandbox.credentials, billing=billing)
    upstreams = build_upstreams(settings, time=time.source())
    await upstreams.start()
    built.append(upstreams)
    return upstreams


async def opened_breaker(sandbox: Any, built: list[Upstreams], time: FakeTime) -> Upstreams:
    """Billing upstreams with ``BREAKER`` and no retry, whose breaker four failing calls (the
    sandbox's billing answering 503, which it keeps doing) have opened."""
    upstreams = await billing_with(sandbox, built, time, resilience={"breaker": BREAKER, "retry": NO_RETRY})
    await sandbox.faults("billing", error_rate=1.0, status=503)
    for _ in range(4):
        with pytest.raises(UpstreamUnavailable):
            await upstreams[BILLING].customer_for_org("org-1")
    return upstreams


async def customers(sandbox: Any) -> int:
    return await route_count(sandbox, "billing", CUSTOMERS)


async def test_an_open_breaker_sends_nothing_and_says_when_to_come_back(sandbox: Any, built: list[Upstreams]) -> None:
    time = FakeTime()
    upstreams = await opened_breaker(sandbox, built, time)
    assert upstreams.transport("billing").pipeline.breaker.state is BreakerState.OPEN
    assert await customers(sandbox) == 4
    time.advance(10)

    for _ in range(20):
        with pytest.raises(CircuitOpen) as caught:
            await upstreams[BILLING].customer_for_org("org-1")

    assert await customers(sandbox) == 4
    assert caught.value.retry_after_s == pytest.approx(20)
    assert caught.value.code == "UPSTREAM_UNAVAILABLE"


async def test_after_the_wait_exactly_k_probes_reach_billing_under_50_concurrent_callers(
    sandbox: Any, built: list[Upstreams]
) -> None:
    time = FakeTime()
    upstreams = await opened_breaker(sandbox, built, time)
    await sandbox.faults("billing", latency_ms=50)  # recovered, and slow enough for probes to overlap
    time.advance(30)
    before = await customers(sandbox)

    async def caller() -> str:
        try:
            await upstreams[BILLING].customer_for_org("org-1")
        except CircuitOpen:
            return "rejected"
        return "ok"

    outcomes = await asyncio.gather(*(caller() for _ in range(50)))

    assert await customers(sandbox) - before == 3
    assert outcomes.count("ok") == 3
    assert outcomes.count("rejected") == 47
    pipeline = upstreams.transport("billing").pipeline
    assert pipeline.breaker.state is BreakerState.CLOSED
    assert [(t.from_state, t.to_state) for t in pipeline.breaker.transitions][-2:] == [
        (BreakerState.OPEN, BreakerState.HALF_OPEN),
        (BreakerState.HALF_OPEN, BreakerState.CLOSED),
    ]
    assert await upstreams[BILLING].customer_for_org("org-1") is not None


async def test_a_hung_upstream_fails_at_its_configured_timeout(sandbox: Any, built: list[Upstreams]) -> None:
    upstreams = await billing_with(
        sandbox, built, FakeTime(), timeouts={"read_s": 30, "total_s": 0.3}, resilience={"retry": NO_RETRY}
    )
    await sandbox.faults("billing", hang=True)

    with pytest.raises(UpstreamTimeout) as caught:
        await upstreams[BILLING].customer_for_org("org-1")

    assert type(caught.value) is UpstreamTimeout
    assert caught.value.code == "UPSTREAM_TIMEOUT"
    assert "within the 0.3 s timeout" in caught.value.message  # the attempt's own timeout ended it


async def test_the_requests_deadline_cuts_a_hung_call_shorter_than_its_timeout(
    sandbox: Any, built: list[Upstreams]
) -> None:
    upstreams = await billing_with(sandbox, built, FakeTime(), timeouts={"read_s": 30, "total_s": 30})
    await sandbox.faults("billing", hang=True)

    with deadline_scope(0.2, asyncio.get_running_loop().time), pytest.raises(DeadlineExceeded) as caught:
        await upstreams[BILLING].customer_for_org("org-1")

    assert caught.value.code == "DEADLINE_EXCEEDED"
    assert "deadline ended the call after 0.2 s" in caught.value.message
    assert await customers(sandbox) == 1  # and nothing was retried without budget


async def test_the_retry_budget_caps_load_on_a_dead_upstream(sandbox: Any, built: list[Upstreams]) -> None:
    retry = {"attempts": 3, "budget_ratio": 0.2, "budget_max_tokens": 10}
    upstreams = await billing_with(sandbox, built, FakeTime(), resilience={"breaker": LENIENT_BREAKER, "retry": retry})
    await sandbox.faults("billing", error_rate=1.0, status=503)
    calls = 200

    for _ in range(calls):
        with pytest.raises(UpstreamUnavailable):
            await upstreams[BILLING].customer_for_org("org-1")

    reached = await customers(sandbox)
    assert calls < reached <= 1.2 * calls + 10  # 10: the bucket starts full
    assert upstreams.transport("billing").pipeline.budget.tokens < 1


async def test_after_zero_remaining_nothing_reaches_billing_until_the_reset(
    sandbox: Any, built: list[Upstreams]
) -> None:
    time = FakeTime()
    upstreams = await billing_with(sandbox, built, time)
    await sandbox.faults("billing", rate_limit={"limit": 1, "window_s": 30})
    await upstreams[BILLING].customer_for_org("org-1")  # answered with "remaining=0, reset=R"

    with pytest.raises(RateLimitedLocally) as caught:
        await upstreams[BILLING].customer_for_org("org-1")
    reset = caught.value.retry_after_s or 0
    assert caught.value.code == "RATE_LIMITED"
    assert 0 < reset <= 30
    time.advance(reset - 0.5)
    with pytest.raises(RateLimitedLocally):
        await upstreams[BILLING].customer_for_org("org-1")
    assert await customers(sandbox) == 1

    time.advance(1)
    with contextlib.suppress(RateLimited):  # the sandbox's window runs on real time
        await upstreams[BILLING].customer_for_org("org-1")
    assert await customers(sandbox) >= 2


async def test_a_429_retry_after_is_waited_before_the_retry(sandbox: Any, built: list[Upstreams]) -> None:
    time = FakeTime()
    upstreams = await billing_with(sandbox, built, time, resilience={"retry": {"attempts": 2, "cap_s": 0.05}})
    await sandbox.faults("billing", rate_limit={"limit": 0, "window_s": 1})

    with pytest.raises(RateLimited) as caught:
        await upstreams[BILLING].customer_for_org("org-1")

    assert type(caught.value) is RateLimited  # the upstream's own 429, after one retry
    assert time.slept == [1.0]  # Retry-After: 1, not a jittered backoff of at most 0.05 s
    assert await customers(sandbox) == 2


async def test_retried_signed_requests_pass_the_signature_check(sandbox: Any, built: list[Upstreams]) -> None:
    time = FakeTime()
    resilience = {"retry": {"attempts": 3}, "breaker": LENIENT_BREAKER}
    upstreams = await billing_with(sandbox, built, time, resilience=resilience)
    await sandbox.faults("billing", error_rate=0.5, status=503)

    found = [await upstreams[BILLING].customer_for_org("org-1") for _ in range(10)]

    assert all(customer is not None for customer in found)  # each retry ran the auth flow (signed) again
    assert await customers(sandbox) > 10


async def test_a_learned_limit_keeps_billing_free_of_429s(sandbox: Any, built: list[Upstreams]) -> None:
    """Real time here: the sandbox counts its window on the wall clock, so the gateway must too."""
    settings = settings_with(sandbox.urls, sandbox.credentials, billing={"resilience": {"retry": NO_RETRY}})
    upstreams = build_upstreams(settings)
    await upstreams.start()
    built.append(upstreams)
    await sandbox.faults("billing", rate_limit={"limit": 5, "window_s": 60})
    answered = held_back = refused_by_upstream = 0

    for _ in range(20):
        try:
            await upstreams[BILLING].customer_for_org("org-1")
            answered += 1
        except RateLimitedLocally:
            held_back += 1
        except RateLimited:
            refused_by_upstream += 1

    assert refused_by_upstream == 0
    assert await customers(sandbox) == answered <= 10  # 5 per window; the run may straddle two windows
    assert held_back == 20 - answered
    assert upstreams.transport("billing").pipeline.limiter.quota is not None  # learned from RateLimit-Policy


async def test_the_token_endpoint_has_its_own_retry_and_breaker(sandbox: Any, built: list[Upstreams]) -> None:
    time = FakeTime()
    settings = settings_with(sandbox.urls, sandbox.credentials, identity={"resilience": {"breaker": BREAKER}})
    upstreams = build_upstreams(settings, time=time.source())
    await upstreams.start()
    built.append(upstreams)
    await sandbox.faults("identity", routes=["POST /oauth/token"], error_rate=1.0, status=503)

    with pytest.raises(TokenEndpointUnavailable) as first:
        await upstreams[IDENTITY].users_by_ids(["user-1"])
    assert first.value.code == "UPSTREAM_AUTH_FAILED"
    assert await route_count(sandbox, "identity", "POST /oauth/token") == 3, "one fetch, retried by its own policy"

    time.advance(1.0)  # past the remembered failure's cool-down
    with pytest.raises(TokenEndpointUnavailable) as second:
        await upstreams[IDENTITY].users_by_ids(["user-1"])
    assert "circuit" in second.value.message.lower()
    assert (second.value.retry_after_s or 0) > 0
    assert await route_count(sandbox, "identity", "POST /oauth/token") == 4, "the breaker opened after 4 failures"
    assert await route_count(sandbox, "identity", "GET /v1/users") == 0
    assert upstreams.transport("identity").pipeline.breaker.state is BreakerState.CLOSED, (
        "the API's breaker is not blamed"
    )
