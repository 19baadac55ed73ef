"""`mobius serve --workers 2`: one scrape of /metrics counts what every worker did."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
from metrics_support import scrape, value
from served_support import ServedGateway

from sandbox import SandboxCredentials, SandboxUrls

REQUESTS = 40


async def test_one_scrape_sees_every_worker_and_nothing_of_an_earlier_run(
    sandbox_server: tuple[SandboxUrls, SandboxCredentials], tmp_path: Path
) -> None:
    shared = tmp_path / "metrics"
    shared.mkdir()
    (shared / "counter_1.db").write_bytes(b"left by an earlier run")
    settings = {"telemetry": {"metrics": {"multiprocess_dir": str(shared)}}}
    with ServedGateway(sandbox_server, tmp_path, workers=2, settings=settings) as gateway:
        for _ in range(600):  # both workers up: each opens its file as it builds its app
            if len(list(shared.glob("counter_*.db"))) == 2:
                break
            await asyncio.sleep(0.05)
        query = {"query": "query Ping { __typename }"}

        async def ask() -> None:
            # a connection each, so that the requests are spread over the workers
            async with aiohttp.ClientSession() as own, own.post(f"{gateway.url}/graphql", json=query) as response:
                assert response.status == 200

        await asyncio.gather(*(ask() for _ in range(REQUESTS)))

        async def scrape_anew() -> str:
            async with aiohttp.ClientSession() as own:  # a new connection: either worker may answer
                return (await scrape(own, gateway.url))[0]

        scrapes = [await scrape_anew() for _ in range(6)]
        counters = {path.name for path in shared.glob("counter_*.db")}

    assert "counter_1.db" not in counters
    assert len(counters) == 2, counters  # each worker keeps its values in its own file
    text = scrapes[0]
    operations = {"operation": "Ping", "type": "query", "outcome": "ok"}
    assert value(text, "mobius_graphql_operations_total", operations) == REQUESTS
    assert value(text, "mobius_http_requests_total", {"path": "/graphql", "status": "200"}) == REQUESTS
    assert {value(each, "mobius_graphql_operations_total", operations) for each in scrapes} == {REQUESTS}
