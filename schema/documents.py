"""Per-document work done once: parsing, validation and the limiters' verdicts are cached.

Strawberry builds extensions per request. The depth and alias limiters create a new validation
rule class on every construction, which would make every request's rule tuple distinct and defeat
the validation cache; here their rules are built once per schema, so a (document, rules) pair is
validated once and its verdict reused until the bounded LRU evicts it.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterator
from functools import partial

from graphql import DocumentNode, GraphQLError, GraphQLSchema
from graphql.validation import ASTValidationRule
from strawberry.extensions import (
    AddValidationRules,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    SchemaExtension,
)
from strawberry.schema.schema import validate_document

DOCUMENT_CACHE_SIZE = 256
"""Distinct query texts kept parsed and validated (per process)."""


def document_extensions(
    *, max_depth: int, max_aliases: int, max_tokens: int, cache_size: int = DOCUMENT_CACHE_SIZE
) -> list[Callable[[], SchemaExtension]]:
    rules = [
        *QueryDepthLimiter(max_depth=max_depth).validation_rules,
        *MaxAliasesLimiter(max_alias_count=max_aliases).validation_rules,
    ]
    return [
        partial(MaxTokensLimiter, max_token_count=max_tokens),
        partial(ParserCache, maxsize=cache_size),
        partial(AddValidationRules, rules),
        partial(DocumentValidationCache, maxsize=cache_size),
    ]


_Verdict = tuple[GraphQLSchema, DocumentNode, tuple[type[ASTValidationRule], ...], list[GraphQLError]]
_verdicts: OrderedDict[tuple[int, ...], _Verdict] = OrderedDict()


class DocumentValidationCache(SchemaExtension):
    """Strawberry's ``ValidationCache``, keyed by the identity of the schema, the document and the
    rules rather than by their hash.

    The parser cache hands out the same document object for the same text, and a document's hash
    walks its whole tree (graphql-core's nodes are dataclasses), on every request. Entries hold
    the objects whose ids key them, so an id cannot be reused while its entry lives.
    """

    def __init__(self, maxsize: int) -> None:
        super().__init__()
        self.maxsize = maxsize

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        schema, document, rules = context.schema._schema, context.graphql_document, context.validation_rules
        assert document is not None  # validation runs only on a parsed document
        key = (id(schema), id(document), *map(id, rules))
        verdict = _verdicts.get(key)
        if verdict is None:
            verdict = (schema, document, rules, validate_document(schema, document, rules))
            _verdicts[key] = verdict
            if len(_verdicts) > self.maxsize:
                _verdicts.popitem(last=False)
        else:
            _verdicts.move_to_end(key)
        context.pre_execution_errors = verdict[3]
        yield
