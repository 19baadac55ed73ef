"""Helpers of the entity cache's end-to-end tests: the real gateway over loopback, the real sandbox
and the real Redis (the fixtures ``redis_gateway_server`` and ``cached_gateway`` are in the
gateway tests' conftest)."""

from __future__ import annotations

from typing import Any

from clock import FakeClock
from harness import ADMIN_HEADERS, DASHBOARD_QUERY, Gateway, GatewayServer, Sandbox, gateway_settings, upstream_requests
from response_cache_support import SandboxServerInfo

from sandbox.seed import fresh_seed

NO_REQUESTS = upstream_requests()
CACHE_STATS = "{ cacheStats { enabled status types { type l1Hits hits misses coalesced stale errors } } }"


class Counted:
    """Upstream API requests made by one step, read from the sandbox's counters."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox

    async def __aenter__(self) -> dict[str, int]:
        self.before = await self.sandbox.api_requests()
        self.counts: dict[str, int] = {}
        return self.counts

    async def __aexit__(self, *_: object) -> None:
        after = await self.sandbox.api_requests()
        self.counts.update({upstream: after[upstream] - self.before[upstream] for upstream in after})


def serve(sandbox_server: SandboxServerInfo, clock: FakeClock | None = None, **overrides: Any) -> GatewayServer:
    return GatewayServer(gateway_settings(sandbox_server, **overrides), cache_clock=clock)


def patient_redis(redis_config: dict[str, str]) -> dict[str, Any]:
    """The real Redis with timeouts a loaded machine keeps: at the defaults (50 ms a command) a
    burst of load opened the store's breaker, and an invalidation answered 503 or a dashboard missed
    entries it holds. These tests count upstream requests; they do not time Redis."""
    return {**redis_config, "socket_timeout_s": 5.0, "connect_timeout_s": 5.0}


async def dashboard(gateway: Gateway) -> dict[str, Any]:
    return await gateway.query(DASHBOARD_QUERY, {"orgId": "org-1"})


async def ready(gateway: Gateway) -> tuple[int, dict[str, Any]]:
    async with gateway.http.get(f"{gateway.url}/health/ready") as response:
        body: dict[str, Any] = await response.json()
        return response.status, body


async def invalidate(gateway: Gateway, body: dict[str, Any], headers: dict[str, str] | None = None) -> tuple[int, Any]:
    async with gateway.http.post(
        f"{gateway.url}/admin/cache/invalidate", json=body, headers=ADMIN_HEADERS if headers is None else headers
    ) as response:
        return response.status, await response.json()


def assignee_outside_the_members_page() -> str:
    """A user the dashboard meets only as an issue's assignee: not on org-1's members page, owning
    none of its projects on the page (so only the assignees' batch reads it)."""
    seed = fresh_seed()
    members = set(seed.identity.orgs["org-1"].member_ids[:50])
    projects = seed.projects.projects_by_org["org-1"][:20]
    owners = {seed.projects.projects[p].owner_id for p in projects}
    for project in projects:
        for issue in seed.projects.issues_by_project[project][:10]:
            assignee = seed.projects.issues[issue].assignee_id
            if assignee is not None and assignee not in members | owners:
                return assignee
    raise AssertionError("the seed has no such assignee")
