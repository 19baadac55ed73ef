"""Request errors: client mistakes found before an operation runs, each answered with a
GraphQL-shaped body (``{"errors": [...]}``, no ``data``) whose errors carry ``extensions.code``.

Two kinds differ in status. A refusal of the HTTP request itself (a method, media type, size,
credential or malformed body) has its own status under every media type. A GraphQL request error
(a document that does not parse or validate, an unknown operation, variables that do not coerce,
an unknown persisted document) is 400 under ``application/graphql-response+json`` and 200 under
``application/json``, as GraphQL over HTTP asks for legacy clients.
"""

from __future__ import annotations

from collections.abc import Sequence

from graphql import GraphQLError

BAD_REQUEST = "BAD_REQUEST"


class RequestError(Exception):
    def __init__(
        self,
        errors: Sequence[GraphQLError],
        *,
        status: int | None = None,
        headers: Sequence[tuple[bytes, bytes]] = (),
    ) -> None:
        """``status`` ``None``: a GraphQL request error (its status follows the media type)."""
        super().__init__(errors[0].message)
        self.errors = tuple(errors)
        self.status = status
        self.headers = tuple(headers)

    @classmethod
    def of(
        cls, message: str, code: str, *, status: int | None = None, headers: Sequence[tuple[bytes, bytes]] = ()
    ) -> RequestError:
        return cls([GraphQLError(message, extensions={"code": code})], status=status, headers=headers)


def refused(message: str, code: str = BAD_REQUEST, status: int = 400, **headers: str) -> RequestError:
    """A refusal of the HTTP request (``headers`` by name, e.g. ``allow="POST"``)."""
    raw = [(name.replace("_", "-").encode(), value.encode("latin-1", "replace")) for name, value in headers.items()]
    return RequestError.of(message, code, status=status, headers=raw)


def graphql_request_error(message: str, code: str) -> RequestError:
    return RequestError.of(message, code)
