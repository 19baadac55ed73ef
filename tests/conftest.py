"""Fixtures for every test directory; the harness itself lives in ``harness.py``."""

from harness import gateway, gateway_server, http, sandbox, sandbox_server

__all__ = ["gateway", "gateway_server", "http", "sandbox", "sandbox_server"]
