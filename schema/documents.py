"""Document validation: the specification's rules (graphql-core's, plus Strawberry's for
``@oneOf`` and ``Maybe``), the depth and alias limiters, and what the posture hides.

``document_validation`` is the one validation every operation goes through; the request path calls
it through ``schema.operations.Documents``, which caches its verdict per document.
"""

from __future__ import annotations

from functools import partial
from typing import Protocol

from graphql import DocumentNode, GraphQLError, GraphQLSchema, specified_rules, validate
from graphql.validation import ASTValidationRule, NoSchemaIntrospectionCustomRule
from strawberry.extensions import MaxAliasesLimiter, QueryDepthLimiter
from strawberry.schema.validation_rules.maybe_null import MaybeNullValidationRule
from strawberry.schema.validation_rules.one_of import OneOfInputValidationRule


class DocumentValidation(Protocol):
    """Every validation error of a parsed document (empty when it may run)."""

    def __call__(self, document: DocumentNode) -> list[GraphQLError]: ...


def document_validation(
    schema: GraphQLSchema, *, max_depth: int, max_aliases: int, introspection: bool, suggestions: bool
) -> DocumentValidation:
    """``introspection: False`` refuses ``__schema`` and ``__type``; ``suggestions: False`` leaves
    "Did you mean ...?" out of the messages."""
    rules: list[type[ASTValidationRule]] = [
        *specified_rules,
        MaybeNullValidationRule,
        OneOfInputValidationRule,
        *QueryDepthLimiter(max_depth=max_depth).validation_rules,
        *MaxAliasesLimiter(max_alias_count=max_aliases).validation_rules,
    ]
    if not introspection:
        rules.append(NoSchemaIntrospectionCustomRule)
    return partial(validate, schema, rules=tuple(rules), hide_suggestions=not suggestions)
