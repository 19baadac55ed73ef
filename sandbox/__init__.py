"""Runnable stand-ins for Mobius's three upstreams (identity, billing, projects).

Real HTTP servers on loopback with seeded deterministic data, real auth, fault injection and
request counters. The gateway never imports this package; it plays the outside world.
"""

from sandbox.credentials import SandboxCredentials
from sandbox.server import SandboxServer, SandboxUrls, build_apps, run_sandbox

__all__ = ["SandboxCredentials", "SandboxServer", "SandboxUrls", "build_apps", "run_sandbox"]
