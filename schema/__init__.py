"""The Mobius schema: Strawberry types (code-first), no I/O. Resolvers do the fetching."""
