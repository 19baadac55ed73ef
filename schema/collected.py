"""Which fields a selection collects, kept across requests of the same operation.

graphql-core collects the sub-fields of every selection set anew for each request (fragments
spread, ``@skip``/``@include`` applied). Parsed documents are cached (``schema.documents``), so
the same operation arrives as the same node objects request after request; where nothing in the
operation makes collection depend on the request (no directive argument is a variable, no
``@defer``/``@stream``, no fragment arguments), the collected fields of a selection are the same
every time and are kept with the operation.

Entries are keyed by object identity, so each keeps its operation and field nodes alive: an
identity is never reused while its entry exists. At most ``MAX_OPERATIONS`` operations are kept.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from typing import Any, Final

from graphql import (
    FragmentDefinitionNode,
    FragmentSpreadNode,
    ListValueNode,
    ObjectValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValueNode,
    VariableNode,
)

MAX_OPERATIONS: Final = 256

Collections = dict[tuple[int, ...], Any]
"""By (object type identity, field node identities): what was collected, with the nodes."""

_operations: Final[OrderedDict[int, tuple[OperationDefinitionNode, Collections | None]]] = OrderedDict()


def shared_collections(
    operation: OperationDefinitionNode, fragments: Mapping[str, FragmentDefinitionNode]
) -> Collections | None:
    """The collections kept for this operation, or None when its collection depends on the request."""
    key = id(operation)
    entry = _operations.get(key)
    if entry is not None and entry[0] is operation:
        _operations.move_to_end(key)
        return entry[1]
    collections: Collections | None = {} if _request_independent(operation, fragments) else None
    _operations[key] = (operation, collections)
    if len(_operations) > MAX_OPERATIONS:
        _operations.popitem(last=False)
    return collections


def _request_independent(operation: OperationDefinitionNode, fragments: Mapping[str, FragmentDefinitionNode]) -> bool:
    pending: list[SelectionSetNode] = [operation.selection_set]
    pending.extend(fragment.selection_set for fragment in fragments.values())
    while pending:
        for selection in pending.pop().selections:
            for directive in selection.directives or ():
                if directive.name.value in {"defer", "stream"}:
                    return False
                if any(has_variable(argument.value) for argument in directive.arguments or ()):
                    return False
            if isinstance(selection, FragmentSpreadNode):
                if getattr(selection, "arguments", None):
                    return False
                continue
            selection_set = getattr(selection, "selection_set", None)  # a field's or an inline fragment's
            if selection_set is not None:
                pending.append(selection_set)
    return True


def has_variable(value: ValueNode) -> bool:
    """Whether a literal in a document refers to a variable anywhere inside it."""
    if isinstance(value, VariableNode):
        return True
    if isinstance(value, ListValueNode):
        return any(has_variable(item) for item in value.values)
    if isinstance(value, ObjectValueNode):
        return any(has_variable(field.value) for field in value.fields)
    return False
