"""10,000 signed billing webhooks posted concurrently while the `mobius worker` process is SIGKILLed
and restarted twice; then: every valid event applied exactly once and in version order, no replay,
bad signature or out-of-order event applied, the dead-letter stream empty.

    .venv/bin/python -m bench.events_crash [--entities 1000] [--workdir bench/results/events-crash]

Per invoice (entity) one chain of deliveries, posted in order (each after the previous answer):
versions 1..8 (valid), one replay of an earlier delivery (same id, same signature), and either one
delivery signed with a wrong key or one older version under a new id sent after a newer one was
accepted (out of order). Chains run concurrently (64 at a time). The worker runs with a stable
consumer name, so after each restart it first finishes what it left.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

from bench.events_harness import Bench, invoice_webhook, new_bench

VERSIONS = 8
CONCURRENT_CHAINS = 64
WRONG_SECRET = "whsec_" + "d3Jvbmcta2V5LW9mLWFuLWF0dGFja2Vy"


@dataclass
class Tally:
    posted: int = 0
    statuses: Counter[tuple[str, int]] = field(default_factory=Counter)
    valid: dict[str, tuple[str, int]] = field(default_factory=dict)  # delivery id -> (entity, version)
    replays: set[str] = field(default_factory=set)
    bad: set[str] = field(default_factory=set)
    out_of_order: set[str] = field(default_factory=set)


async def post(http: aiohttp.ClientSession, url: str, body: bytes, headers: dict[str, str]) -> int:
    for _ in range(20):  # a 503 (stream unreachable) is retried like a sender would
        async with http.post(url, data=body, headers=headers) as response:
            await response.read()
            if response.status != 503:
                return response.status
        await asyncio.sleep(0.1)
    return 503


async def chain(http: aiohttp.ClientSession, url: str, entity: int, tally: Tally) -> None:
    invoice = f"in_bench_{entity}"
    sent: list[tuple[bytes, dict[str, str]]] = []
    extra_at = 2 + entity % (VERSIONS - 2)
    for version in range(1, VERSIONS + 1):
        delivery = f"d-{entity}-v{version}"
        body, headers = invoice_webhook(delivery, invoice, version)
        status = await post(http, url, body, headers)
        tally.valid[delivery] = (invoice, version)
        tally.statuses["valid", status] += 1
        sent.append((body, headers))
        tally.posted += 1
        if version == extra_at:
            replay_body, replay_headers = sent[entity % len(sent)]
            tally.replays.add(replay_headers["webhook-id"])
            tally.statuses["replay", await post(http, url, replay_body, replay_headers)] += 1
            if entity % 2:
                bad_id = f"bad-{entity}"
                body, headers = invoice_webhook(bad_id, invoice, version + 100, secret=WRONG_SECRET)
                tally.bad.add(bad_id)
                tally.statuses["bad", await post(http, url, body, headers)] += 1
            else:
                late_id = f"late-{entity}"
                body, headers = invoice_webhook(late_id, invoice, version - 1)
                tally.out_of_order.add(late_id)
                tally.statuses["out_of_order", await post(http, url, body, headers)] += 1
            tally.posted += 2


async def post_all(bench: Bench, entities: int, tally: Tally, kill_at: list[int]) -> None:
    url = f"{bench.url}/webhooks/billing"
    gate = asyncio.Semaphore(CONCURRENT_CHAINS)
    connector = aiohttp.TCPConnector(limit=CONCURRENT_CHAINS)
    async with aiohttp.ClientSession(connector=connector) as http:

        async def one(entity: int) -> None:
            async with gate:
                await chain(http, url, entity, tally)

        async def killer() -> None:
            for threshold in kill_at:
                calls_before = bench.handler_calls()
                # polls counters the chains and the worker process move
                while tally.posted < threshold or bench.handler_calls() == calls_before:  # noqa: ASYNC110
                    await asyncio.sleep(0.01)
                bench.kill_worker()
                print(
                    f"  SIGKILLed the worker after {tally.posted} posts, {bench.handler_calls()} handler calls;"
                    " restarting it",
                    flush=True,
                )
                bench.start_worker()

        killing = asyncio.create_task(killer())
        await asyncio.gather(*(one(entity) for entity in range(entities)))
        await killing


def check(bench: Bench, tally: Tally) -> list[str]:
    applied, versions, calls, _ = bench.recorded()
    problems = []
    missing = sorted(set(tally.valid) - set(applied))
    if missing:
        problems.append(f"{len(missing)} valid events never applied, e.g. {missing[:5]}")
    strays = sorted(set(applied) - set(tally.valid))
    if strays:
        problems.append(f"{len(strays)} applied events were not valid ones, e.g. {strays[:5]}")
    for entity, applied_versions in versions.items():
        if applied_versions != sorted(set(applied_versions)):
            problems.append(f"{entity}: applied out of order or twice: {applied_versions}")
    if set(applied) & (tally.bad | tally.out_of_order):
        problems.append("a bad-signature or out-of-order event was applied")
    expected = {
        ("valid", 202): len(tally.valid),
        ("replay", 200): len(tally.replays),
        ("bad", 401): len(tally.bad),
    }
    for (kind, status), count in expected.items():
        if tally.statuses[kind, status] != count:
            problems.append(f"{kind}: {tally.statuses[kind, status]} answered {status}, expected {count}")
    if tally.statuses["out_of_order", 200] + tally.statuses["out_of_order", 202] != len(tally.out_of_order):
        problems.append("an out-of-order delivery got an answer other than 200 or 202")
    waiting, dead = bench.backlog()
    if waiting or dead:
        problems.append(f"stream not drained: {waiting} waiting, {dead} dead letters")
    print(
        f"  handler calls {calls} for {len(applied)} applications "
        f"({calls - len(applied)} repeated by redelivery after the kills, recorded once)"
    )
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--entities", type=int, default=1000, help="invoices; 10 posts each (default 1000)")
    parser.add_argument("--workdir", type=Path, default=Path("bench/results/events-crash"))
    args = parser.parse_args(argv)
    bench = new_bench(args.workdir, claim_idle_s=2.0, block_s=0.5, max_deliveries=5)
    total = args.entities * (VERSIONS + 2)
    tally = Tally()
    try:
        bench.start_gateway()
        bench.start_worker()
        started = time.monotonic()
        asyncio.run(post_all(bench, args.entities, tally, kill_at=[total // 3, 2 * total // 3]))
        posting_s = time.monotonic() - started
        print(f"posted {tally.posted} deliveries in {posting_s:.1f} s: {dict(sorted(tally.statuses.items()))}")
        deadline = time.monotonic() + 120
        while bench.backlog()[0] and time.monotonic() < deadline:
            time.sleep(0.2)
        problems = check(bench, tally)
    finally:
        bench.stop()
        bench.clean()
    if problems:
        print("FAILED:\n  " + "\n  ".join(problems))
        return 1
    print(
        f"OK: {len(tally.valid)} valid events applied exactly once in version order; "
        f"{len(tally.replays)} replays, {len(tally.bad)} bad signatures and {len(tally.out_of_order)} "
        "out-of-order events not applied; dead-letter stream empty"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
