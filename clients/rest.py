"""JSON over HTTP: status handling and typed parsing of upstream payloads (parsed once)."""

from __future__ import annotations

from collections.abc import Awaitable, Mapping
from string import Formatter
from typing import TypeVar
from urllib.parse import quote

from clients.codec import Codec, Invalid
from clients.errors import error_for_response, invalid_response
from clients.http import HttpUpstream
from clients.memo import keep
from clients.messages import RawResponse

T = TypeVar("T")


_PLAIN = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.~-"
"""Characters ``quote(..., safe="")`` leaves as they are (a text made of them alone strips to nothing)."""


_SEGMENTS_MAX = 4096
_segments: dict[str, str] = {}
"""Path values as a path writes them (ids repeat: a lookup is cheaper than the check); all are
dropped when the bound is reached."""


def _segment(value: str) -> str:
    """``value`` percent-encoded as one path segment (an id that needs no escaping as it is)."""
    written = _segments.get(value)
    if written is None:
        written = keep(_segments, value, value if not value.strip(_PLAIN) else quote(value, safe=""), _SEGMENTS_MAX)
    return written


_ROUTES_MAX = 1024
"""Route templates kept parsed (a client declares a few dozen); all are dropped when the bound is reached."""
_routes: dict[str, list[tuple[str, str]]] = {}


def _route_parts(route: str) -> list[tuple[str, str]]:
    """``route`` as (literal text, placeholder name or ``""``) pairs, parsed once per template."""
    parts = _routes.get(route)
    if parts is None:
        parsed = [(literal, name or "") for literal, name, _, _ in Formatter().parse(route)]
        parts = keep(_routes, route, parsed, _ROUTES_MAX)
    return parts


def fill_route(route: str, values: Mapping[str, str] | None) -> str:
    """The wire path of a route template: each ``{name}`` replaced by its value, percent-encoded
    (a value that needs no escaping, such as an id, is taken as it is). The template is parsed
    once per route; a call joins its parts."""
    if not values:
        return route
    path = ""
    for literal, name in _route_parts(route):
        path += literal
        if name:
            path += _segment(values[name])
    return path


def parse_response(upstream: str, what: str, response: RawResponse, codec: Codec[T]) -> T:
    """Raise the error a failed response means, or decode its JSON body into ``T``."""
    if response.status >= 400:
        raise error_for_response(upstream, response)
    try:
        return codec.decode(response.body)
    except Invalid as exc:
        raise invalid_response(upstream, exc, what=what) from None


class RestClient:
    def __init__(self, http: HttpUpstream) -> None:
        self.http = http
        self.name = http.name

    def get(
        self,
        route: str,
        codec: Codec[T],
        *,
        path: Mapping[str, str] | None = None,
        params: Mapping[str, str | int] | None = None,
    ) -> Awaitable[T]:
        """``call`` with ``GET`` (its coroutine, none more)."""
        return self.call("GET", route, codec, path=path, params=params)

    async def call(
        self,
        method: str,
        route: str,
        codec: Codec[T],
        *,
        path: Mapping[str, str] | None = None,
        params: Mapping[str, str | int] | None = None,
        json_body: object | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> T:
        """``route`` is the path as the API declares it (``/v1/orgs/{org_id}/members``); ``path``
        fills its placeholders, each value percent-encoded as one segment."""
        wire_path = fill_route(route, path)
        declared = f"{method} {route}"
        shared = self.http.shared_reads
        if method == "GET" and json_body is None and not headers and shared.enabled:

            async def send() -> T:
                response = await self.http.send(method, wire_path, route=declared, params=params)
                return parse_response(self.name, declared, response, codec)

            return await shared.read((wire_path, tuple(sorted((params or {}).items())), id(codec)), send)
        response = await self.http.send(
            method, wire_path, route=declared, params=params, json_body=json_body, headers=headers
        )
        return parse_response(self.name, declared, response, codec)
