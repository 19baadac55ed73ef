"""The cache's server side: stores (in-process, Redis), cross-replica invalidation, admin endpoint."""
