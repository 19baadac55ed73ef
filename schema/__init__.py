"""The Mobius schema: Strawberry types (code-first), no I/O. Resolvers do the fetching."""

from pathlib import Path

from schema._native import select

select(__name__, Path(__file__).parent)  # before any compiled module is imported
