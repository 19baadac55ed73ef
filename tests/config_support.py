"""Upstream settings for tests that need a valid configuration but never reach an upstream."""

from __future__ import annotations

from typing import Any

from mobius.demo import sandbox_upstreams
from sandbox import SandboxCredentials, SandboxUrls, default_registry


def offline_upstreams(base_url: str = "http://127.0.0.1:1") -> dict[str, Any]:
    """Every declared upstream at ``base_url`` (nothing listens there), with the sandbox's credentials."""
    urls = SandboxUrls(dict.fromkeys(default_registry().names(), base_url))
    return sandbox_upstreams(urls, SandboxCredentials(), vendors={})
