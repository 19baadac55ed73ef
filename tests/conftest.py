"""Fixtures for every test directory; the harness itself lives in ``harness.py``.

Every test runs under the credential canary (``canary.py``): a unique value in every credential
the harness hands out that must never show up in logs, output or Redis.
"""

from canary import canary_log_capture, pytest_runtest_makereport
from clock import clock
from harness import gateway, gateway_server, http, sandbox, sandbox_server
from redis_support import (
    backend_prefix,
    pytest_sessionfinish,
    redis_backend,
    redis_cluster_url,
    redis_config,
    redis_prefix,
    redis_url,
)

__all__ = [
    "backend_prefix",
    "canary_log_capture",
    "clock",
    "gateway",
    "gateway_server",
    "http",
    "pytest_runtest_makereport",
    "pytest_sessionfinish",
    "redis_backend",
    "redis_cluster_url",
    "redis_config",
    "redis_prefix",
    "redis_url",
    "sandbox",
    "sandbox_server",
]
