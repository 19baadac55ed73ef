"""Mobius Gateway: one GraphQL graph over many external services."""

__version__ = "0.1.0"
