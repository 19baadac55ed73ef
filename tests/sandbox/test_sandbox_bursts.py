"""The error-burst fault: the next N requests fail, then the upstream recovers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import aiohttp

from sandbox import SandboxUrls

Billing = Callable[..., Awaitable[aiohttp.ClientResponse]]


async def test_an_error_burst_fails_exactly_the_next_n_requests(
    urls: SandboxUrls, http: aiohttp.ClientSession, billing: Billing
) -> None:
    async with http.post(f"{urls.billing}/_sandbox/faults", json={"error_burst": 3, "status": 503}) as response:
        assert response.status == 200
        assert await response.json() == {"error_burst": 3}

    statuses = [(await billing("GET", "/v1/customers?org_id=org-1")).status for _ in range(5)]

    assert statuses == [503, 503, 503, 200, 200]
