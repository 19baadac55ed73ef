"""The rendered page: local URLs only, integrity everywhere, nothing inline."""

from __future__ import annotations

import base64
import hashlib
import re
from html.parser import HTMLParser

import pytest

from mobius.graphiql import GRAPHIQL_CSP, STATIC_DIR, render_graphiql_page

PREFIX = "/graphiql/static"


class PageParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.inline_scripts: list[str] = []
        self.style_blocks = 0
        self._in_script_without_src = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        self.tags.append((tag, attributes))
        if tag == "script" and not attributes.get("src"):
            self._in_script_without_src = True
            self.inline_scripts.append("")
        if tag == "style":
            self.style_blocks += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script_without_src = False

    def handle_data(self, data: str) -> None:
        if self._in_script_without_src:
            self.inline_scripts[-1] += data


def parse(html: str) -> PageParser:
    parser = PageParser()
    parser.feed(html)
    parser.close()
    return parser


def referenced_urls(parser: PageParser) -> list[tuple[str, str, str | None]]:
    """(tag, url, integrity) of every src/href in the page."""
    urls = []
    for tag, attributes in parser.tags:
        for name in ("src", "href"):
            value = attributes.get(name)
            if value is not None:
                urls.append((tag, value, attributes.get("integrity")))
    return urls


def test_page_references_only_local_files_that_exist() -> None:
    html = render_graphiql_page(static_prefix=PREFIX)
    assert not re.search(r"https?://", html), "page must not reference any origin"
    urls = referenced_urls(parse(html))
    assert len(urls) >= 7 + 2
    for _tag, url, _integrity in urls:
        assert url.startswith(PREFIX + "/"), url
        assert (STATIC_DIR / url.removeprefix(PREFIX + "/")).is_file(), url


def test_scripts_and_stylesheets_carry_matching_integrity() -> None:
    parser = parse(render_graphiql_page(static_prefix=PREFIX))
    checked = 0
    for tag, url, integrity in referenced_urls(parser):
        attributes = next(a for t, a in parser.tags if a.get("src") == url or a.get("href") == url)
        if tag == "script" or attributes.get("rel") == "stylesheet":
            assert integrity, f"{url} has no integrity attribute"
            algorithm, digest = integrity.split("-", 1)
            data = (STATIC_DIR / url.removeprefix(PREFIX + "/")).read_bytes()
            assert base64.b64encode(hashlib.new(algorithm, data).digest()).decode() == digest
            checked += 1
    assert checked == 9  # 7 vendored + our stylesheet and bootstrap script


def test_page_loads_everything_in_order() -> None:
    parser = parse(render_graphiql_page(static_prefix=PREFIX))
    scripts = [a["src"] for t, a in parser.tags if t == "script"]
    names = [str(s).rsplit("/", 1)[1] for s in scripts]
    assert names[0].startswith("react-18")
    assert names[1].startswith("react-dom-18")
    assert names.index("mobius-graphiql.js") == len(names) - 1
    graphiql = next(i for i, n in enumerate(names) if n.endswith("graphiql.min.js"))
    explorer = next(i for i, n in enumerate(names) if "plugin-explorer" in n)
    assert graphiql < explorer


def test_page_has_nothing_a_strict_csp_blocks() -> None:
    parser = parse(render_graphiql_page(static_prefix=PREFIX))
    assert parser.inline_scripts == []
    assert parser.style_blocks == 0
    for tag, attributes in parser.tags:
        assert "style" not in attributes, f"<{tag}> has a style attribute"
        assert not any(name.startswith("on") for name in attributes), f"<{tag}> has a handler"
        for name in ("src", "href"):
            value = attributes.get(name) or ""
            assert not value.startswith(("javascript:", "data:")), value


def test_endpoint_and_default_query_are_data_attributes() -> None:
    html = render_graphiql_page(static_prefix=PREFIX + "/", graphql_path='/api/"graphql"')
    parser = parse(html)
    container = next(a for t, a in parser.tags if a.get("id") == "graphiql")
    assert container["data-graphql-path"] == '/api/"graphql"'  # escaped, round-trips
    assert "upstreams" in str(container["data-default-query"])
    assert f"{PREFIX}//" not in html  # trailing slash of the prefix is not doubled


def test_default_graphql_path() -> None:
    parser = parse(render_graphiql_page(static_prefix=PREFIX))
    container = next(a for t, a in parser.tags if a.get("id") == "graphiql")
    assert container["data-graphql-path"] == "/graphql"


def test_bootstrap_keeps_strawberry_features() -> None:
    js = (STATIC_DIR / "mobius-graphiql.js").read_text(encoding="utf-8")
    assert "GraphiQL.createFetcher" in js
    assert "subscriptionUrl" in js
    assert "explorerPlugin" in js
    assert "isHeadersEditorEnabled: true" in js
    assert "shouldPersistHeaders: false" in js
    assert "dataset.graphqlPath" in js
    assert "stripHeaders" in js  # history/favorites are stored without headers
    for forbidden in ("eval(", "new Function", "innerHTML", "document.write"):
        assert forbidden not in js


@pytest.mark.parametrize(
    "directive",
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "connect-src 'self' ws: wss:",
        "img-src 'self' data:",
        "font-src 'self' data:",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "form-action 'none'",
    ],
)
def test_csp_directives(directive: str) -> None:
    directives = [d.strip() for d in GRAPHIQL_CSP.split(";")]
    assert directive in directives


def test_csp_has_no_unsafe_keywords() -> None:
    assert "unsafe" not in GRAPHIQL_CSP
    assert "http" not in GRAPHIQL_CSP


def test_our_static_files_reference_no_origin() -> None:
    for name in ("mobius-graphiql.js", "mobius-graphiql.css", "manifest.json"):
        text = (STATIC_DIR / name).read_text(encoding="utf-8")
        assert "://" not in text, f"{name} mentions an absolute URL"
