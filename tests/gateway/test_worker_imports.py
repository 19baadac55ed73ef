"""A worker loads a feature's heavy dependencies only when the feature is on: PyJWT and cryptography
(about 10 MB of RSS) with ``auth.jwt``, the OTLP exporter and protobuf (about 4 MB) with
``OTEL_TRACES_EXPORTER=otlp``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from config_support import offline_upstreams

HEAVY = ("jwt", "cryptography.x509", "opentelemetry.exporter.otlp.proto.http", "google.protobuf")
BUILD_APP = f"""
import json, sys
from pathlib import Path
from mobius.app import create_app
from mobius.settings import load_settings
create_app(load_settings(Path(sys.argv[1])))
print(json.dumps([name for name in {HEAVY!r} if name in sys.modules]))
"""


def loaded_after_create_app(tmp_path: Path, settings: dict[str, Any]) -> list[str]:
    config = tmp_path / "mobius.json"
    config.write_text(json.dumps(settings))
    env = {name: value for name, value in os.environ.items() if not name.startswith(("OTEL_", "MOBIUS_"))}
    done = subprocess.run(  # noqa: S603  (this interpreter, fixed arguments)
        [sys.executable, "-c", BUILD_APP, str(config)], capture_output=True, text=True, timeout=60, env=env, check=False
    )
    assert done.returncode == 0, done.stderr
    loaded: list[str] = json.loads(done.stdout.splitlines()[-1])
    return loaded


@pytest.mark.parametrize(
    ("auth", "expected"),
    [
        ({}, []),
        (
            {"jwt": {"jwks_url": "http://127.0.0.1:1/jwks.json", "issuer": "https://idp.test", "audiences": ["m"]}},
            ["jwt", "cryptography.x509"],
        ),
    ],
    ids=["no-jwt", "jwt"],
)
def test_heavy_dependencies_load_only_for_their_feature(
    tmp_path: Path, auth: dict[str, Any], expected: list[str]
) -> None:
    settings = {"upstreams": offline_upstreams(), "auth": auth, "cache": {"enabled": False}}
    assert loaded_after_create_app(tmp_path, settings) == expected
