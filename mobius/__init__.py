"""Mobius Gateway: one GraphQL graph over many external services."""

from clients._native import select

select()  # before any compiled module is imported

__version__ = "0.1.0"
