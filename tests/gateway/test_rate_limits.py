"""Rate limits seen through the gateway: what an upstream said about its limit stops costing
dashboards once the upstream stops saying it."""

from __future__ import annotations

import aiohttp
from harness import DASHBOARD_QUERY, Gateway, GatewayServer, Sandbox

from mobius.upstreams import build_upstreams
from tests.clients.resilience_support import FakeTime
from tests.clients.support import settings_with


async def test_dashboards_recover_at_the_reset_once_identity_lifts_its_advertised_limit(
    sandbox: Sandbox, http: aiohttp.ClientSession
) -> None:
    time = FakeTime()
    settings = settings_with(sandbox.urls, sandbox.credentials)
    upstreams = build_upstreams(settings, time=time.source())
    await sandbox.faults("identity", rate_limit={"limit": 2, "window_s": 10})
    with GatewayServer(settings, upstreams=upstreams, clock=time.monotonic) as server:
        gateway = Gateway(url=server.url, http=http)
        limited = await gateway.query(DASHBOARD_QUERY, {"orgId": "org-1"})
        codes = {error["extensions"]["code"] for error in limited["errors"]}
        reset = max(error["extensions"]["retryAfter"] for error in limited["errors"])

        await sandbox.faults("identity")  # lifted: identity no longer sends RateLimit-Policy
        time.advance(reset)
        dashboards = [await gateway.query(DASHBOARD_QUERY, {"orgId": f"org-{n}"}) for n in range(1, 4)]

    assert codes == {"RATE_LIMITED"}
    assert 0 < reset <= 10
    assert [dashboard.get("errors") for dashboard in dashboards] == [None, None, None]
    assert all(dashboard["data"]["organization"]["members"]["nodes"] for dashboard in dashboards)
