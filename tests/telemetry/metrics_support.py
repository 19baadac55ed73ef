"""Reading a gateway's ``/metrics`` as Prometheus would: parsed, by name and labels; and
prometheus-client's multiprocess mode (``serve --workers N``) turned on in this process."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import aiohttp
import pytest
from prometheus_client import CollectorRegistry, generate_latest, values
from prometheus_client.multiprocess import MultiProcessCollector
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


@contextmanager
def multiprocess_mode(directory: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Sample values made inside are multiprocess mode's, in a file per process under ``directory``
    (as in each worker of ``serve --workers N``)."""
    directory.mkdir(parents=True, exist_ok=True)
    with monkeypatch.context() as patch:
        patch.setenv("PROMETHEUS_MULTIPROC_DIR", str(directory))
        patch.setattr(values, "ValueClass", values.MultiProcessValue())
        yield directory


def scrape_files(directory: Path) -> str:
    """What ``/metrics`` shows of the workers' files in ``directory`` (their samples summed)."""
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=str(directory))
    return generate_latest(registry).decode()
