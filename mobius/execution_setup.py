"""The executor of one admitted operation, as graphql-core's ``ExecutionContext.build`` makes it,
with what depends on the document alone found once per document.

``build`` asserts the schema valid, walks the document for its operation and fragments, coerces
the variables and constructs the execution context: on every request, for a document that is
the same from one request to the next. Here the schema is the gateway's own (validated when it
was built), the operation is the one admission picked and the fragments are those found when the
document was prepared (``schema.operations``, one entry per document text, with the same rules
and errors as ``build``); the variables are coerced per request by graphql-core's own
``get_variable_values``, with ``build``'s error limit. An operation without fragments found (a
document whose fragments declare variables, an experimental syntax whose signatures ``build``
checks) goes through ``build`` itself.

Once an operation has run, its next executions take what their execution context holds alike
from the first one (``schema.execution_state.OperationState``, kept with the prepared document in
``DocumentExecution.operations``, so it lives and goes with the document's entry): only the
request's own attributes are made afresh.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeGuard, cast

from graphql import GraphQLError, GraphQLSchema, default_field_resolver, default_type_resolver
from graphql.execution.executor import Executor
from graphql.execution.values import VariableValues, get_variable_values
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from mobius.admission import Operation
from schema.execution_state import OperationState, PlannedExecutionState
from schema.root import MobiusSchema

MAX_COERCION_ERRORS = 50
"""``ExecutionContext.build``'s default."""


class ExecutionSetup:
    """Builds the execution context of each admitted operation."""

    def __init__(
        self,
        schema: MobiusSchema,
        *,
        is_awaitable: Callable[[Any], TypeGuard[Awaitable[Any]]],
        hide_suggestions: bool,
    ) -> None:
        self.schema: GraphQLSchema = schema._schema
        self.execution_context_class = cast(
            "type[StrawberryGraphQLCoreExecutionContext]", schema.execution_context_class
        )
        """The planned executor's, or Strawberry's own with ``execution.planned`` off (both take
        Strawberry's ``operation_extensions``)."""
        self.is_awaitable = is_awaitable
        self.hide_suggestions = hide_suggestions

    def build(self, operation: Operation, context: Any) -> Executor[Any] | list[GraphQLError]:
        """The operation's execution context, or the errors of its variables."""
        execution = operation.execution
        if execution is None:
            return self.execution_context_class.build(
                self.schema,
                operation.document,
                None,
                context,
                operation.variables,
                operation.operation_name,
                is_awaitable=self.is_awaitable,
                hide_suggestions=self.hide_suggestions,
                operation_extensions=operation.extensions,
            )
        definitions = operation.operation.variable_definitions
        if not definitions:  # what graphql-core's coercion gives: it reads only the defined variables
            variable_values = VariableValues({}, {})
        else:
            coerced = get_variable_values(
                self.schema,
                definitions,
                operation.variables or {},
                max_errors=MAX_COERCION_ERRORS,
                hide_suggestions=self.hide_suggestions,
            )
            if isinstance(coerced, list):
                return coerced
            variable_values = coerced
        kept = execution.operations.get(id(operation.operation))
        if kept is not None and kept[0] is self:
            state: OperationState = kept[1]
            return state.kind(context, variable_values, operation.extensions, again=state)
        executor = self.execution_context_class(
            self.schema,
            execution.definitions,
            execution.details,
            None,
            context,
            operation.operation,
            variable_values,
            default_field_resolver,
            default_type_resolver,
            default_field_resolver,
            False,  # enable_early_execution
            None,  # middleware_manager
            self.is_awaitable,
            None,  # is_async_iterable: graphql-core's default
            hide_suggestions=self.hide_suggestions,
            abort_signal=None,
            hooks=None,
            operation_extensions=operation.extensions,
        )
        if isinstance(executor, PlannedExecutionState):
            execution.operations[id(operation.operation)] = (self, OperationState(executor))
        return executor
