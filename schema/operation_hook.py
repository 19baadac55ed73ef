"""Strawberry's hook for ``schema.telemetry``: each operation Strawberry executes itself (over a
WebSocket) observed as ``mobius.executor`` observes those it runs. A Python module of its own:
Strawberry calls ``on_operation`` as a generator function, which a compiled one is not."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import suppress

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension
from strawberry.types import ExecutionContext

from schema.telemetry import OperationTelemetry


class OperationHook(SchemaExtension):
    """Runs ``OperationTelemetry`` around each operation Strawberry executes (``on_operation``
    only: no per-field hook)."""

    def __init__(self, telemetry: OperationTelemetry, *, execution_context: ExecutionContext | None = None) -> None:
        super().__init__(execution_context=execution_context)
        self.telemetry = telemetry

    def on_operation(self) -> Iterator[None]:
        context = self.execution_context
        with self.telemetry.observe(context.query) as operation:
            yield
            operation.name = context.operation_name
            with suppress(RuntimeError, GraphQLError):  # no document, or no such operation in it
                operation.type = context.operation_type.value
            result = context.result
            data_present = result is not None and result.data is not None
            errors = (result.errors if result is not None else None) or []
            self.telemetry.finish(operation, data_present=data_present, errors=errors)
