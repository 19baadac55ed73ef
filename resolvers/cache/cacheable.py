"""Which operations the response cache may store.

A response is reusable when every value in it came from upstream data read through the entity
cache (whose tags and freshness the response inherits). The schema declares the fields that are
not (``schema.root.LIVE_FIELDS``: the gateway's own live state, which no invalidation tracks). A
document that selects one of them anywhere, and any operation that is not a query, is executed
every time.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from graphql import (
    BREAK,
    DocumentNode,
    FieldNode,
    GraphQLError,
    GraphQLSchema,
    OperationType,
    TypeInfo,
    TypeInfoVisitor,
    Visitor,
    get_operation_ast,
    is_object_type,
    parse,
    visit,
)


class CacheableDocuments:
    """Whether a (document text, operation name) may be stored, kept in a bounded LRU: a document is
    parsed here once (with the same token limit as execution), not per request. A document that
    does not parse or names no single operation is not cacheable (its execution reports why)."""

    def __init__(self, schema: GraphQLSchema, *, live_fields: frozenset[str], max_tokens: int, size: int = 256) -> None:
        """``live_fields``: coordinates (``Type.field``) whose values are not built from cached data."""
        unknown = sorted(coordinate for coordinate in live_fields if not _exists(schema, coordinate))
        if unknown:
            raise ValueError(f"live fields the schema does not have: {unknown}")
        self.schema = schema
        self.live_fields = live_fields
        self.max_tokens = max_tokens
        self.size = size
        self._verdicts: OrderedDict[tuple[str, str | None], bool] = OrderedDict()

    def __call__(self, query: str, operation_name: str | None) -> bool:
        key = (query, operation_name)
        verdict = self._verdicts.get(key)
        if verdict is None:
            verdict = self._verdicts[key] = self._judge(query, operation_name)
            if len(self._verdicts) > self.size:
                self._verdicts.popitem(last=False)
        else:
            self._verdicts.move_to_end(key)
        return verdict

    def _judge(self, query: str, operation_name: str | None) -> bool:
        try:
            document = parse(query, no_location=True, max_tokens=self.max_tokens)
        except GraphQLError:
            return False
        operation = get_operation_ast(document, operation_name)
        return (
            operation is not None
            and operation.operation is OperationType.QUERY
            and not selects_live(self.schema, document, self.live_fields)
        )


def selects_live(schema: GraphQLSchema, document: DocumentNode, live_fields: frozenset[str]) -> bool:
    """Whether any operation or fragment of ``document`` selects one of ``live_fields``."""
    type_info = TypeInfo(schema)
    finder = _LiveFieldFinder(type_info, live_fields)
    visit(document, TypeInfoVisitor(type_info, finder))
    return finder.found


class _LiveFieldFinder(Visitor):
    def __init__(self, type_info: TypeInfo, live_fields: frozenset[str]) -> None:
        super().__init__()
        self.type_info = type_info
        self.live_fields = live_fields
        self.found = False

    def enter_field(self, node: FieldNode, *_: Any) -> Any:
        parent = self.type_info.get_parent_type()
        if parent is not None and f"{parent.name}.{node.name.value}" in self.live_fields:
            self.found = True
            return BREAK
        return None


def _exists(schema: GraphQLSchema, coordinate: str) -> bool:
    type_name, _, field_name = coordinate.partition(".")
    named = schema.get_type(type_name)
    return is_object_type(named) and field_name in named.fields
