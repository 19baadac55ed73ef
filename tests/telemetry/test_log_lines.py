"""The JSON lines renderer (orjson for what it encodes, the standard library's encoder for the rest)
and the logger that writes each line."""

from __future__ import annotations

import io
import json
import logging
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import orjson
import pytest
import structlog
from structlog.testing import capture_logs

from clients.call_records import RequestRecord
from clients.secrets import StaticSecret
from mobius.logging import JsonChain, configure_logging, json_chain
from mobius.settings import LogSettings
from mobius.telemetry.logs import IsoTimeStamper, JsonLines, Verbatim, VerbatimRows, named_logger
from mobius.telemetry.requests import _log


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


@pytest.fixture
def configured_json_logging(monkeypatch: pytest.MonkeyPatch) -> Iterator[JsonChain]:
    """The gateway's JSON logging at a fixed time; structlog and the root logger restored after."""
    monkeypatch.setattr(time, "time_ns", lambda: 1_790_000_000_123_456_000)  # compiled, the module reads it there
    handlers = logging.root.handlers[:]
    configure_logging("json")
    try:
        chain = json_chain()
        assert chain is not None
        yield chain
    finally:
        structlog.reset_defaults()
        logging.root.handlers[:] = handlers


def test_the_request_event_in_one_call_is_the_line_structlogs_chain_writes(
    configured_json_logging: JsonChain, capsys: pytest.CaptureFixture[str]
) -> None:
    fields = {
        "request_id": "sk_live_leaked",
        "trace_id": None,
        "method": Verbatim("POST"),
        "status": 200,
        "caller": "Bearer abc.def",
        "password": "hunter2",
        "error_codes": ["CONFLICT"],
        "upstream_calls": VerbatimRows(({"upstream": "identity", "duration_ms": 1.5},)),
    }
    assert configured_json_logging.write_info("mobius.requests", Verbatim("request"), dict(fields))
    structlog.get_logger("mobius.requests").info(Verbatim("request"), **fields)
    one_call, chain = capsys.readouterr().out.splitlines()
    assert one_call == chain
    assert "hunter2" not in one_call
    assert "sk_live_leaked" not in one_call
    assert '"logger":"mobius.requests","level":"info","timestamp":"2026-09-21T' in one_call


def test_the_one_call_steps_aside_while_structlog_runs_another_chain(configured_json_logging: JsonChain) -> None:
    with capture_logs() as logs:
        assert not configured_json_logging.write_info("mobius.requests", "request", {"status": 200})
    assert not logs
    structlog.configure(processors=[structlog.processors.JSONRenderer()])
    assert not configured_json_logging.write_info("mobius.requests", "request", {"status": 200})


def test_the_one_call_drops_an_event_below_its_loggers_level(capsys: pytest.CaptureFixture[str]) -> None:
    handlers = logging.root.handlers[:]
    configure_logging("json", LogSettings(levels={"mobius.requests": "warning"}))
    try:
        chain = json_chain()
        assert chain is not None
        assert chain.write_info("mobius.requests", "request", {"status": 200})
    finally:
        structlog.reset_defaults()
        logging.root.handlers[:] = handlers
        logging.getLogger("mobius.requests").setLevel(logging.NOTSET)
    assert capsys.readouterr().out == ""
    configure_logging("console")
    try:
        assert json_chain() is None
    finally:
        structlog.reset_defaults()
        logging.root.handlers[:] = handlers


def test_the_request_event_redacts_its_client_text_alone_and_writes_the_whole_chains_line(
    configured_json_logging: JsonChain, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``mobius.telemetry.requests`` names the values a client or an upstream wrote; the rest of its
    event needs no redaction, so its line is the one structlog's chain writes with all of it."""
    # A logger of this test's own: the module's keeps the chain it first ran (structlog's cache).
    monkeypatch.setattr("mobius.telemetry.requests.log", structlog.get_logger("mobius.requests"))
    record = RequestRecord(
        error_codes={"CONFLICT", "sk_live_code"},
        query="query token { __typename }",
        operation_name="token=hunter2",
        operation_type="query",
        caller="Bearer abc.def",
        cache="MISS",
    )
    for _ in range(2):  # the one call, then structlog's chain with the same processors
        _log(record, request_id="sk_live_leaked", trace_id=None, method="POST", status=200, duration_s=0.0123)
        structlog.configure(processors=list(configured_json_logging.processors))
    one_call, chain = capsys.readouterr().out.splitlines()
    assert one_call == chain
    for secret in ("hunter2", "sk_live", "abc.def"):
        assert secret not in one_call
    assert '"operation_name":"token=[redacted]"' in one_call


@pytest.mark.parametrize("micros", [0, 5, 120_000, 123_456, 999_999])
def test_the_time_stamp_is_the_one_structlogs_iso_stamper_writes(micros: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """As ``TimeStamper(fmt="iso", utc=True)`` writes the same instant: its ``isoformat`` in UTC
    with ``Z`` (six digits of microseconds, none at a whole second)."""
    second = 1_790_000_000
    monkeypatch.setattr(time, "time_ns", lambda: (second * 1_000_000 + micros) * 1000)

    stamped = IsoTimeStamper()(None, "info", {})["timestamp"]

    instant = datetime.fromtimestamp(second, UTC).replace(microsecond=micros)
    assert stamped == instant.isoformat().replace("+00:00", "Z")


def test_a_callers_name_is_masked_from_the_first_line_after_a_source_reveals_it(
    configured_json_logging: JsonChain, capsys: pytest.CaptureFixture[str]
) -> None:
    """The request log remembers how it redacted a caller's name (it is logged on every request of
    that caller) only until a source reveals another value."""
    name = "Zebra-Quokka-Narwhal-7Q"  # no secret another test revealed is part of it
    for _ in range(2):
        _log(RequestRecord(caller=name), request_id="r-1", trace_id=None, method="POST", status=200, duration_s=0.001)
    StaticSecret(name)
    _log(RequestRecord(caller=name), request_id="r-1", trace_id=None, method="POST", status=200, duration_s=0.001)

    first, second, after = capsys.readouterr().out.splitlines()
    assert f'"caller":"{name}"' in first
    assert f'"caller":"{name}"' in second
    assert '"caller":"[redacted]"' in after
