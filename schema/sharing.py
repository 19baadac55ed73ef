"""Which subscribers may share one execution per event: those whose results cannot differ.

``sharing_key`` is the same for two subscriptions exactly when they have the same document
(printed from its syntax tree, so spacing and comments do not matter), operation and variables
and the same authorization outcome for every field the document selects: the caller's
``authenticated`` and those of its scopes that the selected fields' rules
(``schema.authorization``) mention. An operation that is not a subscription, or a document that
selects a field whose result depends on the caller beyond its rules (``CALLER_DEPENDENT``) gets
no key: it is executed for its subscriber alone."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping
from typing import Any, Protocol

import orjson
from graphql import (
    DocumentNode,
    FieldNode,
    GraphQLSchema,
    OperationDefinitionNode,
    OperationType,
    TypeInfo,
    TypeInfoVisitor,
    Visitor,
    get_named_type,
    print_ast,
    visit,
)

from schema.authorization import CALLER_DEPENDENT, scopes_named
from schema.context import Caller, GatewayContext

SharingKey = tuple[str, str | None, bytes, bool, frozenset[str]]


class _Selected(Visitor):
    def __init__(self, type_info: TypeInfo) -> None:
        super().__init__()
        self.type_info = type_info
        self.scopes: set[str] = set()
        self.caller_dependent = False

    def enter_field(self, node: FieldNode, *_: Any) -> None:
        parent = self.type_info.get_parent_type()
        field_def = self.type_info.get_field_def()
        if parent is None or field_def is None:
            return
        if f"{get_named_type(parent).name}.{node.name.value}" in CALLER_DEPENDENT:
            self.caller_dependent = True
        self.scopes |= scopes_named(field_def)


def sharing_key(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation: OperationDefinitionNode,
    variables: Mapping[str, object] | None,
    caller: Caller,
) -> SharingKey | None:
    """``document`` parsed (within the token cap) and validated; ``operation`` the one asked for."""
    if operation.operation is not OperationType.SUBSCRIPTION:
        return None
    try:
        canonical = orjson.dumps(variables or {}, option=orjson.OPT_SORT_KEYS)
    except TypeError:
        return None
    type_info = TypeInfo(schema)
    selected = _Selected(type_info)
    visit(document, TypeInfoVisitor(type_info, selected))
    if selected.caller_dependent:
        return None
    name = operation.name.value if operation.name is not None else None
    return (print_ast(document), name, canonical, caller.authenticated, caller.scopes & frozenset(selected.scopes))


Start = Callable[[GatewayContext], Awaitable[AsyncGenerator[Any, None]]]
"""Runs the subscription for one context (the schema's own, unshared ``stream``)."""


class SharedExecutions(Protocol):
    def join(self, key: SharingKey, context: GatewayContext, start: Start) -> AsyncGenerator[Any, None]:
        """The results of the execution shared by every subscriber with ``key``, started (with a
        context of its own for ``context.caller``) if none runs; ``context.on_overflow`` is
        called if this subscriber falls too far behind."""
        ...
