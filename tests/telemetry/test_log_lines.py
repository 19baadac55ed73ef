"""The JSON lines renderer (orjson for what it encodes, the standard library's encoder for the rest)
and the logger that writes each line."""

from __future__ import annotations

import io
import json
import sys

import orjson
import pytest

from mobius.telemetry.logs import JsonLines, Verbatim, VerbatimRows, named_logger


class Named:
    def __structlog__(self) -> str:
        return "named"


def test_an_event_is_one_line_of_json_with_the_gateways_own_values_as_json_writes_them() -> None:
    event = {
        "event": Verbatim("request"),
        "upstream_calls": VerbatimRows(({"upstream": "identity", "duration_ms": 1.5},)),
        "error_codes": [],
        "caller": "démo",
        "status": 200,
        "trace_id": None,
        "scopes": {"read"},
        "named": Named(),
    }
    line = JsonLines()(None, "info", dict(event))
    assert "\n" not in line
    assert json.loads(line) == {
        "event": "request",
        "upstream_calls": [{"upstream": "identity", "duration_ms": 1.5}],
        "error_codes": [],
        "caller": "démo",
        "status": 200,
        "trace_id": None,
        "scopes": "{'read'}",
        "named": "named",
    }
    assert line == orjson.dumps(json.loads(line)).decode()


def test_what_orjson_cannot_encode_is_written_by_the_standard_librarys_encoder() -> None:
    event = {"event": "x", "big": 2**70, 3: "a key that is not text"}
    line = JsonLines()(None, "info", dict(event))
    assert line == json.dumps(event)
    assert json.loads(line) == {"event": "x", "big": 2**70, "3": "a key that is not text"}


class Recorded(io.StringIO):
    def __init__(self) -> None:
        super().__init__()
        self.writes: list[str] = []

    def write(self, text: str) -> int:
        self.writes.append(text)
        return super().write(text)


def test_each_event_is_written_to_the_stdout_of_the_moment_with_its_newline_in_one_write(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    out = Recorded()
    monkeypatch.setattr(sys, "stdout", out)
    logger = named_logger("mobius.requests")
    logger.info('{"event":"request"}')
    logger.warning('{"event":"slow"}')
    assert out.writes == ['{"event":"request"}\n', '{"event":"slow"}\n']
