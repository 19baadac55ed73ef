"""Fixtures of the gateway tests only."""

from response_cache_support import client, server

__all__ = ["client", "server"]
