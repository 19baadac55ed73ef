"""What a field costs in upstream requests, declared beside the types as Strawberry field metadata.

``reads(READ, size="first")`` says the field is answered by the declared read ``READ`` and returns
as many items as its argument ``first`` asks for (a list argument counts its entries). A batched
read costs one request per ``max_batch_size`` parents (the loader's batch), a fan-out read one per
parent; the field's own selection is then paid for each returned item. ``writes()`` is one upstream
write per call. ``schema.complexity`` adds these up for a whole operation, the way the loaders will
spend them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from graphql import GraphQLField

from clients.declaration import Read

COST = "mobius.cost"


@dataclass(frozen=True, slots=True, kw_only=True)
class FieldCost:
    read: Read[Any, Any, Any] | None = None
    """The read that answers the field; ``None``: no upstream read."""
    writes: int = 0
    """Upstream writes per call."""
    size: str | None = None
    """The argument that bounds how many items the field returns (an int, or a list's length)."""


def reads(read: Read[Any, Any, Any], *, size: str | None = None) -> dict[str, FieldCost]:
    """Field metadata: answered by ``read``; ``size`` names the argument bounding its items."""
    return {COST: FieldCost(read=read, size=size)}


def writes(count: int = 1) -> dict[str, FieldCost]:
    """Field metadata: ``count`` upstream writes per call."""
    return {COST: FieldCost(writes=count)}


def field_cost(field: GraphQLField) -> FieldCost | None:
    definition = field.extensions.get("strawberry-definition")
    metadata = getattr(definition, "metadata", None)
    if not isinstance(metadata, Mapping):
        return None
    cost = metadata.get(COST)
    return cost if isinstance(cost, FieldCost) else None
