"""Webhook-to-handler latency at a steady rate: signed billing webhooks posted open-loop at
``--rate`` per second for ``--seconds``, one `mobius worker` process applying them; the recording
handler notes how long after the delivery was signed (its ``occurred_at``) it ran.

    .venv/bin/python -m bench.events_latency [--rate 500] [--seconds 20]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections import Counter
from pathlib import Path

import aiohttp

from bench.events_harness import Bench, invoice_webhook, new_bench, percentile

ENTITIES = 1000


async def post_steadily(
    bench: Bench, rate: float, seconds: float, *, prefix: str = "lat", answers_ms: list[float] | None = None
) -> Counter[int]:
    url = f"{bench.url}/webhooks/billing"
    statuses: Counter[int] = Counter()
    answers_ms = [] if answers_ms is None else answers_ms
    total = int(rate * seconds)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=256)) as http:

        async def one(index: int) -> None:
            body, headers = invoice_webhook(
                f"{prefix}-{index}", f"in_{prefix}_{index % ENTITIES}", index // ENTITIES + 1
            )
            sent = time.monotonic()
            async with http.post(url, data=body, headers=headers) as response:
                await response.read()
                statuses[response.status] += 1
            answers_ms.append((time.monotonic() - sent) * 1000)

        started = time.monotonic()
        tasks = []
        for index in range(total):
            delay = started + index / rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(index)))
        await asyncio.gather(*tasks)
    return statuses


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--rate", type=float, default=500.0, help="deliveries per second (default 500)")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--workdir", type=Path, default=Path("bench/results/events-latency"))
    args = parser.parse_args(argv)
    bench = new_bench(args.workdir, block_s=1.0)
    try:
        bench.start_gateway()
        bench.start_worker()
        while bench.handler_calls() == 0:  # warm: the worker is up once it applied one event
            asyncio.run(post_steadily(bench, 10, 0.2, prefix="warm"))
            time.sleep(0.2)
        bench.clean_records()
        answers_ms: list[float] = []
        statuses = asyncio.run(post_steadily(bench, args.rate, args.seconds, answers_ms=answers_ms))
        deadline = time.monotonic() + 60
        while bench.backlog()[0] and time.monotonic() < deadline:
            time.sleep(0.1)
        _, _, calls, delays = bench.recorded()
    finally:
        bench.stop()
        bench.clean()
    delays_ms = [delay * 1000 for delay in delays]
    print(f"{args.rate:.0f} deliveries/s for {args.seconds:.0f} s: answers {dict(statuses)}, {calls} applied")
    print(
        f"webhook answered (202 = appended to the stream): p50 {percentile(answers_ms, 0.5):.1f} ms, "
        f"p99 {percentile(answers_ms, 0.99):.1f} ms"
    )
    print(
        f"webhook -> handler latency: p50 {percentile(delays_ms, 0.5):.1f} ms, "
        f"p99 {percentile(delays_ms, 0.99):.1f} ms, max {max(delays_ms, default=float('nan')):.1f} ms"
    )
    return 0 if statuses.get(202, 0) == calls else 1


if __name__ == "__main__":
    sys.exit(main())
