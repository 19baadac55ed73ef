"""Self-hosted GraphiQL page: vendored assets, no inline code, strict CSP."""

from __future__ import annotations

import base64
import functools
import hashlib
import json
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Literal

STATIC_DIR: Path = Path(__file__).resolve().parent / "static"
"""Folder holding the vendored GraphiQL files, our bootstrap and ``manifest.json``."""

MANIFEST_FILE = "manifest.json"
BOOTSTRAP_SCRIPT = "mobius-graphiql.js"
PAGE_STYLESHEET = "mobius-graphiql.css"
FAVICON = "favicon.svg"

_CSP_DIRECTIVES: tuple[str, ...] = (
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "connect-src 'self' ws: wss:",
    "img-src 'self' data:",
    "font-src 'self' data:",
    "object-src 'none'",
    "frame-ancestors 'none'",
    "base-uri 'none'",
    "form-action 'none'",
)

GRAPHIQL_CSP: str = "; ".join(_CSP_DIRECTIVES)
"""Content-Security-Policy header value for the page from :func:`render_graphiql_page`.

No ``'unsafe-inline'`` and no ``'unsafe-eval'``: the page has no inline code and
GraphiQL only sets styles through the CSSOM (``element.style``), which CSP does
not restrict.  Fonts in GraphiQL's stylesheet are ``data:`` URIs.
"""

DEFAULT_QUERY = """\
# Mobius Gateway: one graph over many services.
#
# Run: Ctrl-Enter or the play button.
# Autocomplete: Ctrl-Space. Explorer: left sidebar.
#
# Example: the upstream services and their state.
{
  upstreams {
    name
    url
    state
  }
}
"""

AssetKind = Literal["script", "stylesheet"]


@dataclass(frozen=True)
class StaticAsset:
    """A file in :data:`STATIC_DIR` that the page references."""

    name: str
    kind: AssetKind
    integrity: str


def _sri_sha384(path: Path) -> str:
    digest = hashlib.sha384(path.read_bytes()).digest()
    return "sha384-" + base64.b64encode(digest).decode("ascii")


@functools.cache
def page_assets() -> tuple[StaticAsset, ...]:
    """Stylesheets and scripts of the page, in load order.

    The vendored files come from ``manifest.json`` (in the order Strawberry's
    page loads them, integrity strings as pinned there); our own stylesheet and
    bootstrap script come last, with a sha384 computed from the installed file
    (once per process: restart after editing them).
    """
    manifest = json.loads((STATIC_DIR / MANIFEST_FILE).read_text(encoding="utf-8"))
    assets: list[StaticAsset] = []
    for name, entry in manifest["files"].items():
        kind = entry["kind"]
        if kind not in ("script", "stylesheet"):
            raise ValueError(f"{MANIFEST_FILE}: unknown kind {kind!r} for {name!r}")
        assets.append(StaticAsset(name=name, kind=kind, integrity=entry["integrity"]))
    assets.append(StaticAsset(PAGE_STYLESHEET, "stylesheet", _sri_sha384(STATIC_DIR / PAGE_STYLESHEET)))
    assets.append(StaticAsset(BOOTSTRAP_SCRIPT, "script", _sri_sha384(STATIC_DIR / BOOTSTRAP_SCRIPT)))
    return tuple(assets)


def _attr(value: str) -> str:
    return escape(value, quote=True)


def render_graphiql_page(*, static_prefix: str, graphql_path: str = "/graphql") -> str:
    """Return the GraphiQL IDE HTML.

    ``static_prefix`` is the URL path where :data:`STATIC_DIR` is served (e.g.
    ``"/graphiql/static"``); ``graphql_path`` is the GraphQL endpoint, resolved by
    the browser against the page URL (HTTP on it, subscriptions over
    graphql-transport-ws on the same path with ``ws:``/``wss:``).

    The page contains no inline script or style, so it works under
    :data:`GRAPHIQL_CSP`.
    """
    prefix = static_prefix.rstrip("/")
    head: list[str] = []
    body: list[str] = []
    for asset in page_assets():
        url = _attr(f"{prefix}/{asset.name}")
        integrity = _attr(asset.integrity)
        if asset.kind == "stylesheet":
            head.append(f'    <link rel="stylesheet" href="{url}" integrity="{integrity}">')
        else:
            body.append(f'    <script src="{url}" integrity="{integrity}"></script>')
    head_html = "\n".join(head)
    body_html = "\n".join(body)
    return f"""<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <meta name="referrer" content="no-referrer">
    <title>Mobius Gateway GraphiQL</title>
    <link rel="icon" type="image/svg+xml" href="{_attr(f"{prefix}/{FAVICON}")}">
{head_html}
  </head>
  <body>
    <div id="graphiql"
      data-graphql-path="{_attr(graphql_path)}"
      data-default-query="{_attr(DEFAULT_QUERY)}">Loading...</div>
{body_html}
  </body>
</html>
"""
