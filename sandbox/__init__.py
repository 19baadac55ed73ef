"""Runnable stand-ins for Mobius's upstreams (identity, billing, projects, support, and ledger, a
second billing vendor).

Real HTTP servers on loopback with seeded deterministic data, real auth, fault injection and
request counters. Each upstream is one module that declares itself to the registry
(`sandbox.registry`). The gateway never imports this package; it plays the outside world.
"""

from sandbox.credentials import SandboxCredentials
from sandbox.jwt_issuer import JWKS_PATH, SANDBOX_AUDIENCE, SANDBOX_ISSUER
from sandbox.registry import SandboxRegistry, SandboxUpstream, default_registry
from sandbox.server import SandboxServer, SandboxUrls, build_apps, run_sandbox

__all__ = [
    "JWKS_PATH",
    "SANDBOX_AUDIENCE",
    "SANDBOX_ISSUER",
    "SandboxCredentials",
    "SandboxRegistry",
    "SandboxServer",
    "SandboxUpstream",
    "SandboxUrls",
    "build_apps",
    "default_registry",
    "run_sandbox",
]
