"""Fixtures of the GraphQL-over-HTTP tests: the shared development gateway as a raw HTTP endpoint."""

from __future__ import annotations

import pytest
from harness import Gateway
from http_support import Endpoint


@pytest.fixture
def endpoint(gateway: Gateway) -> Endpoint:
    return Endpoint(gateway.url, gateway.http)
