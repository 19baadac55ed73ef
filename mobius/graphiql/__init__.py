"""Self-hosted GraphiQL IDE for the gateway (vendored assets, strict CSP).

Mount :data:`STATIC_DIR` (e.g. at ``/graphiql/static`` with FastAPI's
``StaticFiles``) and serve :func:`render_graphiql_page` with the
:data:`GRAPHIQL_CSP` header.  Refresh the vendored files with
``scripts/vendor_graphiql.py``.
"""

from mobius.graphiql.page import GRAPHIQL_CSP, STATIC_DIR, render_graphiql_page

__all__ = ["GRAPHIQL_CSP", "STATIC_DIR", "render_graphiql_page"]
