"""Per-upstream policy: one frozen value object built once from settings."""

from __future__ import annotations

from dataclasses import dataclass, field

from clients.resilience.pipeline import ResiliencePolicy


@dataclass(frozen=True, kw_only=True)
class TimeoutPolicy:
    connect_timeout_s: float = 1.0
    read_timeout_s: float = 5.0
    total_timeout_s: float = 8.0


@dataclass(frozen=True, kw_only=True)
class UpstreamPolicy:
    """How the gateway talks to one upstream.

    ``max_batch_size`` caps keys per batch request; ``max_fanout`` caps concurrent calls
    where the upstream has no batch endpoint; ``pool_size`` is the connection pool;
    ``share_reads`` lets identical reads in flight at once share one call (``clients.shared_reads``).
    """

    name: str
    base_url: str
    timeouts: TimeoutPolicy = TimeoutPolicy()
    pool_size: int = 100
    max_batch_size: int = 100
    max_fanout: int = 10
    share_reads: bool = False
    graphql_path: str = "/graphql"
    resilience: ResiliencePolicy = field(default_factory=ResiliencePolicy)
