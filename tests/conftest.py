"""Fixtures for every test directory; the harness itself lives in ``harness.py``."""

from harness import gateway, gateway_server, http, sandbox, sandbox_server
from redis_support import redis_prefix, redis_url

__all__ = ["gateway", "gateway_server", "http", "redis_prefix", "redis_url", "sandbox", "sandbox_server"]
