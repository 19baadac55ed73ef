"""graphql-http's audit suite (the reference checks of GraphQL over HTTP: its MUSTs, SHOULDs and
MAYs for both media types) run against the real gateway.

The suite is installed by ``npm ci`` from the committed lock file into ``tests/http/audit``
(once, and again when the lock file changes); the test is skipped only where Node is not installed.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from harness import Gateway

AUDIT_DIR = Path(__file__).parent / "audit"


def installed_audit() -> Path:
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.skip("Node.js (node and npm) is needed to run graphql-http's audit suite")
    marker = AUDIT_DIR / "node_modules" / ".package-lock.json"
    lock = AUDIT_DIR / "package-lock.json"
    if not marker.exists() or marker.stat().st_mtime < lock.stat().st_mtime:
        subprocess.run(  # noqa: S603  (npm from PATH, the committed lock file)
            [npm, "ci", "--no-audit", "--no-fund"], cwd=AUDIT_DIR, check=True, capture_output=True, timeout=300
        )
    return Path(node)


async def test_the_gateway_passes_every_graphql_over_http_audit(gateway: Gateway) -> None:
    node = installed_audit()
    done = subprocess.run(  # noqa: S603, ASYNC221  (a bounded, loopback-only child; the gateway runs in its own thread)
        [str(node), str(AUDIT_DIR / "run_audit.mjs"), f"{gateway.url}/graphql"],
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    )
    results = json.loads(done.stdout)

    assert len(results) >= 50
    failed = [f"{result['id']} {result['name']}: {result['reason']}" for result in results if result["status"] != "ok"]
    assert failed == []
