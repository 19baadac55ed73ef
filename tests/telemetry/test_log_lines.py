"""The JSON lines renderer: orjson for what it encodes, the standard library's encoder for the rest."""

from __future__ import annotations

import json

import orjson

from mobius.telemetry.logs import JsonLines, Verbatim, VerbatimRows


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
