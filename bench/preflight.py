"""The preflight of each cell of a run: every implementation answers every workload it serves like
Mobius does (Mobius's answer is the reference), and the upstream requests one answer costs are
counted exactly, over a few sequential requests (no load tail)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench import implementations as impl
from bench.load import upstream_requests
from bench.processes import post_json, post_raw
from bench.workloads import Workload

PREFLIGHT_REQUESTS = 3
"""Sequential requests per implementation and workload: their upstream count is exact (no load tail)."""


class Preflight:
    """What the preflights of a run found."""

    def __init__(self, sandbox: impl.SandboxPorts, out_dir: Path) -> None:
        self.sandbox = sandbox
        self.out_dir = out_dir
        self.verdicts: dict[str, str] = {}
        """Per ``implementation/workload``: the reference, the same as Mobius, where it differs, or its error."""
        self.exact_upstream: dict[tuple[str, str], float] = {}
        """Upstream requests per answer, per implementation and workload."""
        self.reference: dict[str, Any] = {}
        """Mobius's answer (`data`) per workload, in the current cell."""
        self.reference_bytes: dict[str, bytes] = {}

    def new_cell(self) -> None:
        """Forget the reference answers: in the next cell Mobius answers first again."""
        self.reference, self.reference_bytes = {}, {}

    def check(self, name: str, url: str, workload: Workload) -> None:
        """Implementation ``name`` (at ``url``) answers ``workload``: its verdict, its exact upstream
        requests, and its answer in ``out_dir``."""
        post_json(url, workload.body())  # tokens and connections first
        before = upstream_requests(self.sandbox)
        for _ in range(PREFLIGHT_REQUESTS):
            status, raw = post_raw(url, workload.body())
        spent = upstream_requests(self.sandbox) - before
        self.exact_upstream[(name, workload.name)] = spent / PREFLIGHT_REQUESTS
        key = f"{name}/{workload.name}"
        body = json.loads(raw or b"null")
        data = body.get("data") if isinstance(body, dict) else None
        errors = body.get("errors") if isinstance(body, dict) else None
        if status != 200 or errors:
            self.verdicts[key] = f"HTTP {status}, errors: {json.dumps(errors)[:300]}"
        elif workload.name not in self.reference:
            self.reference[workload.name] = data
            self.reference_bytes[workload.name] = raw
            self.verdicts[key] = f"reference ({len(raw):,} bytes)"
        elif data == self.reference[workload.name]:
            self.verdicts[key] = "same as Mobius"
        else:
            self.verdicts[key] = "DIFFERS from Mobius: " + first_difference(self.reference[workload.name], data)
        (self.out_dir / f"answer-{name}-{workload.name}.json").write_text(json.dumps(body, indent=1, sort_keys=True))


def first_difference(expected: Any, actual: Any, path: str = "data") -> str:
    """Where two JSON values first differ, for the preflight report."""
    if isinstance(expected, dict) and isinstance(actual, dict):
        for key in sorted(set(expected) | set(actual)):
            if expected.get(key) != actual.get(key):
                return first_difference(expected.get(key), actual.get(key), f"{path}.{key}")
    if isinstance(expected, list) and isinstance(actual, list):
        if len(expected) != len(actual):
            return f"{path}: {len(expected)} items vs {len(actual)}"
        for index, (left, right) in enumerate(zip(expected, actual, strict=True)):
            if left != right:
                return first_difference(left, right, f"{path}[{index}]")
    return f"{path}: {json.dumps(expected)[:80]} vs {json.dumps(actual)[:80]}"
