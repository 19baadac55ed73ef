"""Parsed and validated documents cached by query text, as a production GraphQL API does.

Clients send the same few documents over and over (a gateway's merged batches are one text per
batch size); validating a 20-alias batch costs far more than executing it, and a benchmark must
measure the gateway, not the stand-in upstream's validator.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from graphql import DocumentNode, ExecutionResult, GraphQLError, GraphQLSchema, execute_sync, parse, validate

CACHE_SIZE = 256


@lru_cache(maxsize=CACHE_SIZE)
def _prepared(schema: GraphQLSchema, query: str) -> tuple[DocumentNode | None, tuple[GraphQLError, ...]]:
    try:
        document = parse(query)
    except GraphQLError as error:
        return None, (error,)
    errors = validate(schema, document)
    return (None, tuple(errors)) if errors else (document, ())


def run_query(
    schema: GraphQLSchema,
    query: str,
    *,
    context_value: Any,
    variable_values: dict[str, Any] | None,
    operation_name: str | None,
) -> ExecutionResult:
    """What `graphql_sync` answers, with parsing and validation done once per query text."""
    document, errors = _prepared(schema, query)
    if document is None:
        return ExecutionResult(data=None, errors=list(errors))
    return execute_sync(
        schema, document, context_value=context_value, variable_values=variable_values, operation_name=operation_name
    )
