"""JSON over HTTP: status handling and typed parsing of upstream payloads (parsed once)."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import TypeVar

import orjson
from pydantic import TypeAdapter, ValidationError

from clients.errors import UpstreamInvalidResponse, error_for_status
from clients.http import HttpUpstream
from clients.messages import RawResponse
from clients.resilience.ratelimit_headers import parse_retry_after

T = TypeVar("T")


def _upstream_code(body: bytes) -> str | None:
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    error = payload.get("error") if isinstance(payload, dict) else None
    if isinstance(error, dict):
        code = error.get("code") or error.get("type")
        return code if isinstance(code, str) else None
    return error if isinstance(error, str) else None


def parse_response(upstream: str, what: str, response: RawResponse, adapter: TypeAdapter[T]) -> T:
    """Raise the error a failed response means, or validate its JSON body into ``T``."""
    if response.status >= 400:
        raise error_for_status(
            response.status,
            upstream=upstream,
            retry_after_s=parse_retry_after(response.headers.get("Retry-After"), wall_now=time.time()),
            upstream_code=_upstream_code(response.body),
        )
    try:
        return adapter.validate_json(response.body)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "body"
        raise UpstreamInvalidResponse(
            f"{what}: invalid response at {where}: {first['type']}", upstream=upstream
        ) from None


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
