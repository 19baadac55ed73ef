"""Running the sandbox: side-by-side instances, an injected clock, and `run_sandbox` in-loop."""

from __future__ import annotations

import asyncio
import gc

import aiohttp
import pytest

from sandbox import SandboxCredentials, SandboxServer, SandboxUrls, run_sandbox
from sandbox.identity import IdentityCredentials
from sandbox.signing import signature_header


async def test_tokens_expire_and_signatures_go_stale_on_the_injected_clock(http: aiohttp.ClientSession) -> None:
    now = [1_700_000_000.0]
    creds = SandboxCredentials(identity=IdentityCredentials(token_lifetime_s=60, client_secret="other-secret"))
    with SandboxServer(credentials=creds, clock=lambda: now[0]) as urls:
        form = {
            "grant_type": "client_credentials",
            "client_id": creds.identity.client_id,
            "client_secret": "other-secret",
        }
        async with http.post(f"{urls.identity}/oauth/token", data=form) as response:
            body = await response.json()
        assert body["expires_in"] == 60
        headers = {"Authorization": f"Bearer {body['access_token']}"}
        async with http.get(f"{urls.identity}/v1/orgs/org-1", headers=headers) as response:
            assert response.status == 200
        now[0] += 61
        async with http.get(f"{urls.identity}/v1/orgs/org-1", headers=headers) as response:
            assert response.status == 401

        path = "/v1/customers?org_id=org-1"
        signed = {
            "Authorization": f"Bearer {creds.billing.api_key}",
            "Mobius-Signature": signature_header(creds.billing.signing_secret, int(now[0]) - 200, "GET", path, b""),
        }
        async with http.get(f"{urls.billing}{path}", headers=signed) as response:
            assert response.status == 200
        now[0] += 101
        async with http.get(f"{urls.billing}{path}", headers=signed) as response:
            assert response.status == 401


async def test_run_sandbox_serves_in_the_current_loop_until_cancelled(
    urls: SandboxUrls, http: aiohttp.ClientSession
) -> None:
    ready: asyncio.Queue[SandboxUrls] = asyncio.Queue()
    task = asyncio.create_task(run_sandbox("127.0.0.1", {}, SandboxCredentials(), on_ready=ready.put_nowait))
    local = await asyncio.wait_for(ready.get(), timeout=5)
    assert local.identity != urls.identity  # runs side by side with the session sandbox
    async with http.get(f"{local.projects}/_sandbox/stats") as response:
        assert (await response.json())["requests"] == 0
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    with pytest.raises(aiohttp.ClientConnectionError):
        await http.get(f"{local.projects}/_sandbox/stats")


def test_a_sandbox_process_freezes_its_start_up_objects() -> None:
    """`mobius sandbox` and the profilers' sandbox process: what start-up made is never collected
    again; the sandbox a test runs beside itself leaves the test process's collector alone."""
    gc.unfreeze()
    try:
        with SandboxServer():
            assert gc.get_freeze_count() == 0
        with SandboxServer(freeze_start_up=True):
            assert gc.get_freeze_count() > 50_000
    finally:
        gc.unfreeze()
