"""``mobius.execution_setup``: an admitted operation's execution context is the one graphql-core's
``ExecutionContext.build`` makes from the same request, its variables' errors are ``build``'s, and
the fragments found when the document was prepared are the ones it runs with."""

from __future__ import annotations

from typing import Any

import pytest
from graphql import DocumentNode, GraphQLError, OperationDefinitionNode, parse
from graphql.execution.executor import Executor

from mobius.admission import Operation
from mobius.execution_setup import ExecutionSetup
from mobius.executor import IS_AWAITABLE as is_awaitable
from schema.operations import fragments_of
from schema.root import MobiusSchema, build_schema

QUERY = """
query Org($orgId: ID!, $first: Int = 3) { organization(id: $orgId) { ...Named members(first: $first) { totalCount } } }
query Other { viewer { id } }
fragment Named on Organization { id name }
"""
CONTEXT = object()


def _operation(
    document: DocumentNode, name: str | None, variables: dict[str, Any] | None, extensions: dict[str, Any] | None = None
) -> Operation:
    chosen = next(
        definition
        for definition in document.definitions
        if isinstance(definition, OperationDefinitionNode)
        and (name is None or (definition.name is not None and definition.name.value == name))
    )
    return Operation(
        query="",
        document=document,
        operation=chosen,
        operation_name=name,
        variables=variables,
        extensions=extensions,
        fragments=fragments_of(document),
    )


def _by_build(
    schema: MobiusSchema, operation: Operation, *, hide_suggestions: bool
) -> Executor[Any] | list[GraphQLError]:
    return schema.execution_context_class.build(
        schema._schema,
        operation.document,
        None,
        CONTEXT,
        operation.variables,
        operation.operation_name,
        is_awaitable=is_awaitable,
        hide_suggestions=hide_suggestions,
        operation_extensions=operation.extensions,
    )


def _state(executor: Executor[Any]) -> dict[str, Any]:
    """What an execution context is made of, as values (what each request makes afresh by identity)."""
    return {
        "class": type(executor),
        "schema": executor.schema,
        "fragment_definitions": executor.fragment_definitions,
        "fragments": executor.fragments,
        "root_value": executor.root_value,
        "context_value": executor.context_value,
        "operation": executor.operation,
        "coerced": executor.variable_values.coerced,
        "sources": {  # each coercion makes its own signatures' default objects
            name: (source.signature.name, str(source.signature.type), repr(source.value))
            for name, source in executor.variable_values.sources.items()
        },
        "field_resolver": executor.field_resolver,
        "type_resolver": executor.type_resolver,
        "subscribe_field_resolver": executor.subscribe_field_resolver,
        "enable_early_execution": executor.enable_early_execution,
        "middleware_manager": executor.middleware_manager,
        "is_awaitable": executor.is_awaitable,
        "is_async_iterable": executor.is_async_iterable,
        "hide_suggestions": executor.hide_suggestions,
        "abort_signal": executor.abort_signal,
        "hooks": executor.hooks,
        "error_propagation": executor.error_propagation,
        "operation_extensions": getattr(executor, "operation_extensions", None),
    }


@pytest.mark.parametrize("planned", [True, False])
@pytest.mark.parametrize(
    ("name", "variables", "extensions"),
    [("Org", {"orgId": "org-1"}, None), ("Org", {"orgId": "org-1", "first": 7}, {"trace": 1}), ("Other", None, None)],
)
def test_the_context_is_the_one_build_makes(
    planned: bool, name: str, variables: dict[str, Any] | None, extensions: dict[str, Any] | None
) -> None:
    schema = build_schema(planned=planned)
    setup = ExecutionSetup(schema, is_awaitable=is_awaitable, hide_suggestions=True)
    operation = _operation(parse(QUERY), name, variables, extensions)
    built = setup.build(operation, CONTEXT)
    expected = _by_build(schema, operation, hide_suggestions=True)
    assert isinstance(built, Executor)
    assert isinstance(expected, Executor)
    assert _state(built) == _state(expected)


@pytest.mark.parametrize("hide_suggestions", [True, False])
@pytest.mark.parametrize("variables", [None, {"orgId": ["a", "b"]}, {"orgId": "org-1", "first": "many"}])
def test_variables_that_do_not_coerce_get_builds_errors(
    hide_suggestions: bool, variables: dict[str, Any] | None
) -> None:
    schema = build_schema()
    setup = ExecutionSetup(schema, is_awaitable=is_awaitable, hide_suggestions=hide_suggestions)
    operation = _operation(parse(QUERY), "Org", variables)
    built = setup.build(operation, CONTEXT)
    expected = _by_build(schema, operation, hide_suggestions=hide_suggestions)
    assert isinstance(built, list)
    assert isinstance(expected, list)
    assert [error.formatted for error in built] == [error.formatted for error in expected]


def test_fragments_declaring_variables_take_builds_own_path() -> None:
    """graphql-core checks such fragments' signatures in ``build`` (the gateway's parser does not
    accept them; a document parsed with them still gets ``build``'s verdict)."""
    schema = build_schema()
    setup = ExecutionSetup(schema, is_awaitable=is_awaitable, hide_suggestions=True)
    document = parse(
        "query { organization(id: 1) { ...Named(n: 1) } } fragment Named($n: Nope) on Organization { id }",
        experimental_fragment_arguments=True,
    )
    operation = _operation(document, None, None)
    built = setup.build(operation, CONTEXT)
    expected = _by_build(schema, operation, hide_suggestions=True)
    assert isinstance(built, list)
    assert isinstance(expected, list)
    assert [error.formatted for error in built] == [error.formatted for error in expected]


def test_the_fragments_found_with_the_document_are_the_ones_each_operation_runs_with() -> None:
    schema = build_schema()
    setup = ExecutionSetup(schema, is_awaitable=is_awaitable, hide_suggestions=True)
    document = parse(QUERY)
    org = _operation(document, "Org", {"orgId": "org-1"})
    first = setup.build(org, CONTEXT)
    again = setup.build(_operation(document, "Other", None), CONTEXT)
    assert isinstance(first, Executor)
    assert isinstance(again, Executor)
    assert org.fragments is not None
    assert first.fragments is org.fragments.details
    assert again.fragments == first.fragments
    assert list(first.fragments) == ["Named"]
