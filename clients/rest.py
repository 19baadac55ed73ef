"""JSON over HTTP: status handling and typed parsing of upstream payloads (parsed once)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar

from pydantic import TypeAdapter, ValidationError

from clients.errors import error_for_response, invalid_response
from clients.http import HttpUpstream
from clients.messages import RawResponse

T = TypeVar("T")


def parse_response(upstream: str, what: str, response: RawResponse, adapter: TypeAdapter[T]) -> T:
    """Raise the error a failed response means, or validate its JSON body into ``T``."""
    if response.status >= 400:
        raise error_for_response(upstream, response)
    try:
        return adapter.validate_json(response.body)
    except ValidationError as exc:
        raise invalid_response(upstream, exc, what=what) from None


class RestClient:
    def __init__(self, http: HttpUpstream) -> None:
        self.http = http
        self.name = http.name

    async def get(self, path: str, adapter: TypeAdapter[T], *, params: Mapping[str, str | int] | None = None) -> T:
        return await self.call("GET", path, adapter, params=params)

    async def call(
        self,
        method: str,
        path: str,
        adapter: TypeAdapter[T],
        *,
        params: Mapping[str, str | int] | None = None,
        json_body: object | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> T:
        async def send() -> T:
            response = await self.http.send(method, path, params=params, json_body=json_body, headers=headers)
            return parse_response(self.name, f"{method} {path}", response, adapter)

        shared = self.http.shared_reads
        if method == "GET" and json_body is None and not headers and shared.enabled:
            return await shared.read((path, tuple(sorted((params or {}).items())), id(adapter)), send)
        return await send()
