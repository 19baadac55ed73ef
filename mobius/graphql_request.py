"""A GraphQL request's parameters as GraphQL over HTTP sends them: a ``POST``'s JSON body (its media
type checked) or a ``GET``'s query string, each parameter of its type, and the persisted document
the request names. Each refusal is a ``RequestError`` with the status the spec gives it."""

from __future__ import annotations

from typing import Any, Final
from urllib.parse import parse_qsl

import orjson

from mobius.media import is_utf8, parse_media_type
from mobius.persisted import document_id, persisted_query_id
from mobius.request_errors import RequestError, refused

MAX_GET_PARAMETERS = 16


class Parameters:
    """A GraphQL request's parameters, of the types GraphQL over HTTP gives them (empty strings and
    ``null`` as absent), and the persisted document it names, if any. A plain class: compiled, a
    frozen dataclass keeps its Python ``__init__`` (one per request)."""

    def __init__(
        self,
        query: str | None,
        operation_name: str | None,
        variables: dict[str, Any] | None,
        extensions: dict[str, Any] | None,
        document_id: str | None,
    ) -> None:
        self.query: Final = query
        self.operation_name: Final = operation_name
        self.variables: Final = variables
        self.extensions: Final = extensions
        self.document_id: Final = document_id

    @classmethod
    def of(cls, data: Any) -> Parameters:
        if not isinstance(data, dict):
            raise refused("each request must be a JSON object: {query, variables, operationName, extensions}")
        query, operation_name = data.get("query"), data.get("operationName")
        variables, extensions = data.get("variables"), data.get("extensions")
        for name, value, kind, described in (
            ("query", query, str, "a string"),
            ("operationName", operation_name, str, "a string"),
            ("variables", variables, dict, "an object"),
            ("extensions", extensions, dict, "an object"),
        ):
            if value is not None and not isinstance(value, kind):
                raise refused(f"`{name}` must be {described}")
        named = data.get("documentId")
        reference = None if named is None else document_id(named)
        persisted = persisted_query_id(extensions) if extensions else None
        if persisted is not None and reference is not None and persisted != reference:
            raise refused("`documentId` and extensions.persistedQuery name different documents")
        return cls(query or None, operation_name or None, variables, extensions, reference or persisted)


def check_json(content_type: str | None) -> None:
    if content_type is None:
        raise refused("a POST needs Content-Type: application/json", "UNSUPPORTED_MEDIA_TYPE", 415)
    media_type = parse_media_type(content_type)
    if media_type.essence != "application/json":
        raise refused(
            f"Content-Type {media_type.essence[:80]!r} is not supported: send application/json",
            "UNSUPPORTED_MEDIA_TYPE",
            415,
        )
    if not is_utf8(media_type):
        raise refused("JSON bodies must be UTF-8", "UNSUPPORTED_MEDIA_TYPE", 415)


def too_large(limit: int) -> RequestError:
    return refused(f"the request body is larger than {limit} bytes", "PAYLOAD_TOO_LARGE", 413)


_GET_PARAMETERS = frozenset({"query", "operationName", "variables", "extensions", "documentId"})
_JSON_PARAMETERS = frozenset({"variables", "extensions"})


def query_parameters(query_string: bytes, limit: int) -> dict[str, Any]:
    """A GET's GraphQL request parameters (``variables`` and ``extensions`` as JSON); an empty
    value is an absent one, other parameters are ignored."""
    if len(query_string) > limit:
        raise refused(f"the query string is longer than {limit} bytes: use POST", "URI_TOO_LONG", 414)
    try:
        pairs = parse_qsl(query_string.decode("latin-1"), keep_blank_values=True, max_num_fields=MAX_GET_PARAMETERS)
    except ValueError:
        raise refused(f"at most {MAX_GET_PARAMETERS} query parameters") from None
    params: dict[str, Any] = {}
    for name, value in pairs:
        if name not in _GET_PARAMETERS:
            continue
        if name in params:
            raise refused(f"`{name}` is given more than once")
        if not value:
            params[name] = None
        elif name in _JSON_PARAMETERS:
            try:
                params[name] = orjson.loads(value)
            except orjson.JSONDecodeError:
                raise refused(f"`{name}` must be JSON") from None
        else:
            params[name] = value
    return params


def names_a_document(params: dict[str, Any]) -> bool:
    return any(params.get(name) is not None for name in ("query", "documentId", "extensions"))
