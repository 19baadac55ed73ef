"""Per-document work done once: parsing, validation and the limiters' verdicts are cached.

Strawberry builds extensions per request. The depth and alias limiters create a new validation
rule class on every construction, which would make every request's rule tuple distinct and defeat
the validation cache; here their rules are built once per schema, so a (document, rules) pair is
validated once and its verdict reused until the bounded LRU evicts it.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from strawberry.extensions import (
    AddValidationRules,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    SchemaExtension,
    ValidationCache,
)

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
        partial(ValidationCache, maxsize=cache_size),
    ]
