"""The canary: one unique value per test run, embedded in every credential the harness uses.

If it ever shows up in captured output (stdlib logging, structlog, stdout, stderr) the test that
produced it fails; ``redis_support`` fails a test whose Redis keys or values contain it, and the
session fails if any key left under the run's prefix does.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Iterator

import pytest

from sandbox import SandboxCredentials
from sandbox.billing import BillingCredentials
from sandbox.identity import IdentityCredentials
from sandbox.ledger import LedgerCredentials
from sandbox.projects import ProjectsCredentials
from sandbox.support import SupportCredentials

CANARY: str = os.environ.setdefault("TEST_CREDENTIAL_CANARY", f"canary{uuid.uuid4().hex[:16]}")
"""Kept in the environment so that every import of this module (as ``canary`` or ``tests.canary``)
agrees on the value."""

CANARY_CREDENTIALS = SandboxCredentials(
    identity=IdentityCredentials(client_secret=f"identity-secret-{CANARY}"),
    billing=BillingCredentials(api_key=f"sk_sandbox_{CANARY}", signing_secret=f"billing-signing-{CANARY}"),
    projects=ProjectsCredentials(token=f"projects-token-{CANARY}"),
    support=SupportCredentials(api_token=f"support-token-{CANARY}"),
    ledger=LedgerCredentials(api_key=f"ledger-key-{CANARY}"),
)
CANARY_CALLER_TOKEN = f"caller-token-{CANARY}"

_LOG_TEXT = pytest.StashKey[list[str]]()


class _Recorder(logging.Handler):
    """Keeps every record of every logger, rendered with its exception, unfiltered."""

    def __init__(self) -> None:
        super().__init__(level=logging.NOTSET)
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture(autouse=True)
def canary_log_capture(request: pytest.FixtureRequest) -> Iterator[None]:
    """Records all standard-library logging of the test at INFO (what a deployment emits; DEBUG would
    have gql render every upstream body); the report hook checks it."""
    recorder = _Recorder()
    root = logging.getLogger()
    level = root.level
    root.addHandler(recorder)
    root.setLevel(logging.INFO)
    request.node.stash[_LOG_TEXT] = recorder.lines
    try:
        yield
    finally:
        root.removeHandler(recorder)
        root.setLevel(level)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """After teardown, fail the test if the canary is in its logs or captured stdout/stderr."""
    report = yield
    if call.when == "teardown":
        where = leaks(item.stash.get(_LOG_TEXT, []), report.sections)
        if where:
            report.outcome = "failed"
            report.longrepr = f"a credential leaked: the canary appears in {', '.join(where)}"
    return report


def leaks(log_lines: list[str], sections: list[tuple[str, str]]) -> list[str]:
    found = ["logging"] if any(CANARY in line for line in log_lines) else []
    return found + [title for title, text in sections if CANARY in text]
