"""``mobius events dlq list|replay|drop`` and ``mobius worker`` against a real Redis."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as redis
import yaml
from events_support import event

from mobius.cli import main
from mobius.demo import sandbox_upstreams
from mobius.events.codec import decode
from mobius.events.stream import RedisEventStream, StreamEntry
from sandbox import SandboxCredentials, SandboxUrls


@pytest.fixture
def config(
    tmp_path: Path, sandbox_server: tuple[SandboxUrls, SandboxCredentials], redis_config: dict[str, Any]
) -> Path:
    path = tmp_path / "mobius.yaml"
    upstreams = sandbox_upstreams(*sandbox_server)
    path.write_text(yaml.safe_dump({"upstreams": upstreams, "redis": redis_config, "events": {"block_s": 0.2}}))
    return path


def on_stream(redis_config: dict[str, Any], work: Any) -> Any:
    async def run() -> Any:
        stream = RedisEventStream(
            redis.Redis.from_url(redis_config["url"]),
            prefix=redis_config["key_prefix"],
            replay_ttl_s=900,
            version_ttl_s=60,
        )
        await stream.start()
        try:
            return await work(stream)
        finally:
            await stream.close()

    return asyncio.run(run())


def bury_two(redis_config: dict[str, Any]) -> list[str]:
    async def work(stream: RedisEventStream) -> list[str]:
        await stream.admit(event("in-1", event_id="evt-dead-1"))
        await stream.admit(event("in-2", event_id="evt-dead-2"))
        entries: list[StreamEntry] = await stream.read("w", count=10, block_s=0.01)
        for entry in entries:
            await stream.dead_letter(entry, "RuntimeError: no")
        return [letter.entry_id for letter in await stream.dead_letters(count=10)]

    result: list[str] = on_stream(redis_config, work)
    return result


def test_dlq_list_replay_drop(config: Path, redis_config: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    first, _ = bury_two(redis_config)
    assert main(["events", "dlq", "list", "--config", str(config)]) == 0
    listed = capsys.readouterr().out
    assert (
        f"{first}  deliveries=1  billing invoice.paid Invoice:in-1 v1 id=evt-dead-1  reason: RuntimeError: no" in listed
    )
    assert "id=evt-dead-2" in listed

    assert main(["events", "dlq", "replay", first, "--config", str(config)]) == 0
    assert capsys.readouterr().out == "replayed 1 of 1 into the stream\n"
    assert main(["events", "dlq", "drop", "--all", "--config", str(config)]) == 0
    assert capsys.readouterr().out == "dropped 1 of 1\n"
    assert main(["events", "dlq", "list", "--config", str(config)]) == 0
    assert capsys.readouterr().out == "the dead-letter stream is empty\n"

    async def waiting(stream: RedisEventStream) -> list[str]:
        return [decode(entry.payload).id for entry in await stream.read("w2", count=10, block_s=0.01)]

    assert on_stream(redis_config, waiting) == ["evt-dead-1"]


def test_the_worker_process_applies_events_and_stops_on_sigterm(config: Path, redis_config: dict[str, Any]) -> None:
    worker = subprocess.Popen(  # noqa: S603  (our own CLI, fixed arguments)
        [sys.executable, "-m", "mobius.cli", "worker", "--config", str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])},
    )
    try:
        sent = event("in-42", 7)

        async def admit(stream: RedisEventStream) -> None:
            await stream.admit(sent)

        on_stream(redis_config, admit)

        async def applied(stream: RedisEventStream) -> int | None:
            return await stream.applied_version(sent)

        deadline = time.monotonic() + 20
        while on_stream(redis_config, applied) != sent.version:
            assert time.monotonic() < deadline, "the worker did not apply the event"
            assert worker.poll() is None, worker.stdout.read().decode() if worker.stdout else ""
            time.sleep(0.1)
        worker.terminate()
        assert worker.wait(timeout=10) == 0
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
