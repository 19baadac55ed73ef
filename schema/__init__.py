"""The Mobius schema: Strawberry types (code-first), no I/O. Resolvers do the fetching."""

from clients._native import select

select()  # before any compiled module is imported
