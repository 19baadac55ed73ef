"""Document validation: the specification's rules (graphql-core's, plus Strawberry's for
``@oneOf`` and ``Maybe``) and what the posture hides. The operation limits (depth, aliases, cost,
...) are measured before these rules run, in linear time (``schema.complexity``).

``document_validation`` is the one validation every operation goes through; the request path calls
it through ``schema.operations.Documents``, which caches its verdict per document.
"""

from __future__ import annotations

from functools import partial
from typing import Protocol

from graphql import DocumentNode, GraphQLError, GraphQLSchema, specified_rules, validate
from graphql.validation import ASTValidationRule, NoSchemaIntrospectionCustomRule
from strawberry.schema.validation_rules.maybe_null import MaybeNullValidationRule
from strawberry.schema.validation_rules.one_of import OneOfInputValidationRule


class DocumentValidation(Protocol):
    """Every validation error of a parsed document (empty when it may run)."""

    def __call__(self, document: DocumentNode) -> list[GraphQLError]: ...


def document_validation(schema: GraphQLSchema, *, introspection: bool, suggestions: bool) -> DocumentValidation:
    """``introspection: False`` refuses ``__schema`` and ``__type``; ``suggestions: False`` leaves
    "Did you mean ...?" out of the messages."""
    rules: list[type[ASTValidationRule]] = [
        *specified_rules,
        MaybeNullValidationRule,
        OneOfInputValidationRule,
    ]
    if not introspection:
        rules.append(NoSchemaIntrospectionCustomRule)
    return partial(validate, schema, rules=tuple(rules), hide_suggestions=not suggestions)
