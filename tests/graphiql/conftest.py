"""Fixtures for the GraphiQL tests; the test app lives in ``graphiql_app.py``."""

from graphiql_app import live_server

__all__ = ["live_server"]
