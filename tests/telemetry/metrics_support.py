"""Reading a gateway's ``/metrics`` as Prometheus would: parsed, by name and labels."""

from __future__ import annotations

from collections.abc import Mapping

import aiohttp
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample


async def scrape(http: aiohttp.ClientSession, base_url: str, *, accept: str | None = None) -> tuple[str, str]:
    """The body and content type of ``GET /metrics``."""
    headers = {"Accept": accept} if accept else {}
    async with http.get(f"{base_url}/metrics", headers=headers) as response:
        assert response.status == 200, await response.text()
        return await response.text(), response.headers["Content-Type"]


def samples(text: str) -> list[Sample]:
    return [sample for family in text_string_to_metric_families(text) for sample in family.samples]


def value(text: str, name: str, labels: Mapping[str, str] | None = None) -> float:
    """The sum of the samples named ``name`` whose labels include ``labels`` (0 when none)."""
    wanted = dict(labels or {})
    return sum(
        sample.value
        for sample in samples(text)
        if sample.name == name and all(sample.labels.get(key) == val for key, val in wanted.items())
    )


def label_values(text: str, name: str, label: str) -> set[str]:
    return {sample.labels[label] for sample in samples(text) if sample.name == name and label in sample.labels}


async def metric(
    http: aiohttp.ClientSession, base_url: str, name: str, labels: Mapping[str, str] | None = None
) -> float:
    text, _ = await scrape(http, base_url)
    return value(text, name, labels)


class FileValue:
    """What multiprocess mode keeps a sample in (a slot of a worker's file; not a MutexValue)."""

    def __init__(self) -> None:
        self.moves: list[float] = []

    def inc(self, amount: float) -> None:
        self.moves.append(amount)

    def get(self) -> float:
        return sum(self.moves)
