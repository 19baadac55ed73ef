"""Multiprocess metric values ask for the process id once per process, not once per write, and a
forked child still writes to a file of its own."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import json, os, sys
asked = []
real_getpid = os.getpid
def counting_getpid():
    asked.append(1)
    return real_getpid()
os.getpid = counting_getpid  # before prometheus-client takes it as its default process id
import mobius
from prometheus_client import Counter
counter = Counter("probe", "a probe")
counter.inc()
asked.clear()
for _ in range(100):
    counter.inc()
writes_asked = len(asked)
child = os.fork()
if child == 0:
    counter.inc(5)
    os._exit(0)
os.waitpid(child, 0)
print(json.dumps({"asked": writes_asked, "parent": real_getpid(), "child": child}))
"""


def test_values_do_not_ask_the_process_id_per_write_and_a_fork_gets_its_own_file(tmp_path: Path) -> None:
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    ran = subprocess.run(  # noqa: S603  (our own interpreter and probe)
        [sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=True
    )
    probe = json.loads(ran.stdout)
    assert probe["asked"] == 0
    files = sorted(path.name for path in tmp_path.glob("counter_*.db"))
    assert files == sorted([f"counter_{probe['parent']}.db", f"counter_{probe['child']}.db"])
