"""Small builders for the hand-written OpenAPI 3.1 documents of the REST upstreams."""

from __future__ import annotations

from typing import Any

from aiohttp import web

Doc = dict[str, Any]


def ref(name: str) -> Doc:
    return {"$ref": f"#/components/schemas/{name}"}


def obj(properties: dict[str, Doc], *, required: list[str] | None = None) -> Doc:
    """An object schema; every property is required unless `required` says otherwise."""
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties) if required is None else required,
    }


def nullable(schema: Doc) -> Doc:
    return {"anyOf": [schema, {"type": "null"}]}


def param(name: str, where: str, schema: Doc, description: str, *, required: bool = False) -> Doc:
    return {
        "name": name,
        "in": where,
        "required": required or where == "path",
        "schema": schema,
        "description": description,
    }


def json_response(description: str, schema: Doc, headers: Doc | None = None) -> Doc:
    response: Doc = {"description": description, "content": {"application/json": {"schema": schema}}}
    if headers:
        response["headers"] = headers
    return response


def errors(error_schema: str, *statuses: int) -> dict[str, Doc]:
    texts = {
        400: "Invalid request.",
        401: "Missing or invalid credentials.",
        404: "Not found.",
        409: "Conflict with the resource's state.",
        412: "The If-Match ETag is stale.",
        422: "The change breaks a rule of the resource.",
        428: "If-Match is required.",
        429: "Rate limited; see Retry-After.",
    }
    return {str(s): json_response(texts[s], ref(error_schema)) for s in statuses}


def with_server(document: Doc, request: web.Request) -> Doc:
    """The document with `servers` pointing at the address the client used to fetch it."""
    return {**document, "servers": [{"url": f"{request.scheme}://{request.host}"}]}
