"""The one place errors reach clients: public errors get a stable ``extensions.code``;
everything else is masked and logged. Upstream bodies are never forwarded."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import structlog
from graphql import GraphQLError
from strawberry.exceptions import MissingQueryError
from strawberry.extensions import SchemaExtension
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError

from clients.errors import UpstreamError
from resolvers.errors import GatewayError

log = structlog.get_logger("mobius.errors")

INTERNAL_MESSAGE = "Internal error."
CLIENT_MISTAKES = (InvalidOperationTypeError, CannotGetOperationTypeError, MissingQueryError)
"""What Strawberry refuses before execution for the request's own sake (a query sent where only
subscriptions run, as over the legacy graphql-ws protocol; no operation, or an unknown one)."""


def shape_error(error: GraphQLError) -> GraphQLError:
    original = error.original_error
    extensions: dict[str, Any]
    if original is None:
        if error.extensions and "code" in error.extensions:
            return error
        extensions = {**(error.extensions or {}), "code": "GRAPHQL_VALIDATION_FAILED" if error.nodes else "BAD_REQUEST"}
        return _copy(error, error.message, extensions)
    if isinstance(original, UpstreamError):
        extensions = {"code": original.code, "upstream": original.upstream}
        if original.retry_after_s is not None:
            extensions["retryAfter"] = original.retry_after_s
        if error.extensions and error.extensions.get("fallback"):
            extensions["fallback"] = True
        return _copy(error, f"{original.upstream}: {original.message}", extensions)
    if isinstance(original, GatewayError):
        return _copy(error, original.message, {"code": original.code})
    if isinstance(original, CLIENT_MISTAKES):
        return _copy(error, error.message, {"code": "BAD_REQUEST"})
    log.error(
        "resolver_failed",
        path=error.path,
        error_type=type(original).__name__,
        exc_info=original,
    )
    return _copy(error, INTERNAL_MESSAGE, {"code": "INTERNAL_SERVER_ERROR"})


def _copy(error: GraphQLError, message: str, extensions: dict[str, Any]) -> GraphQLError:
    return GraphQLError(
        message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        original_error=None,
        extensions=extensions,
    )


def shaped_errors(errors: Sequence[GraphQLError] | None, degraded: Sequence[GraphQLError]) -> list[GraphQLError]:
    """A response's errors as clients see them: the operation's, then those of fields served a
    fallback (``GatewayContext.degraded``), each shaped."""
    return [shape_error(error) for error in (*(errors or ()), *degraded)]


class ShapeErrors(SchemaExtension):
    """``shaped_errors`` for the operations Strawberry runs itself (over a WebSocket)."""

    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        degraded = getattr(self.execution_context.context, "degraded", ())
        if result is not None and hasattr(result, "errors") and (result.errors or degraded):
            result.errors = shaped_errors(result.errors, degraded)
