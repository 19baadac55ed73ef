"""Operation limits in linear time: one pass over a document that visits each fragment once.

For every operation the pass measures, after fragment expansion, its depth (fields with a
selection nested in one another; introspection fields do not count), its aliases, its root fields,
its directives, its fields, and its cost in upstream requests (``schema.cost``): a field answered by
a batched read costs ``parents / max_batch_size + 1`` requests, a fan-out read one per parent, and
its selection is paid for ``size`` items per parent. A selection's cost is kept as ``a * parents +
c``, so a fragment's cost is measured once whatever the number of parents at the places it is
spread. Counts saturate at ``SATURATION``, so a chain of fragments each spreading the next twice,
fifty long, is measured in about a hundred steps and refused, not expanded 2**50 times.

Cost that depends on variables (``first: $n``) is measured again per request with the coerced
variables (``Complexity.cost_error``); the rest is measured once per document text.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    ListValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    Undefined,
    VariableNode,
    get_named_type,
)

from clients.declaration import Read
from schema.cost import FieldCost, field_cost

SATURATION = 10**12
"""Every count and cost stops growing here."""
MAX_NESTING = 100
"""Selection sets (of fields, fragments and inline fragments) nested deeper are refused unmeasured:
the pass recurses, and stays well within Python's recursion limit."""
VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED"

BatchSize = Callable[[Read[Any, Any, Any]], int | None]
"""The most keys one upstream request of a read carries; ``None``: one request per key."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Limits:
    max_depth: int = 12
    max_aliases: int = 30
    max_root_fields: int = 30
    max_directives: int = 50
    max_fields: int = 2000
    max_cost: int = 500


@dataclass(slots=True)
class Shape:
    """A selection set's measures, its fragments expanded."""

    depth: int = 0
    aliases: int = 0
    directives: int = 0
    fields: int = 0
    width: int = 0
    """Fields directly in the set (through its fragments)."""
    per_parent: float = 0.0
    fixed: float = 0.0
    """Upstream requests for ``parents`` parents: ``per_parent * parents + fixed``."""
    variable: bool = False
    """Its cost depends on variables."""

    def add(self, other: Shape) -> None:
        self.depth = max(self.depth, other.depth)
        self.aliases = _sum(self.aliases, other.aliases)
        self.directives = _sum(self.directives, other.directives)
        self.fields = _sum(self.fields, other.fields)
        self.width = _sum(self.width, other.width)
        self.per_parent = min(self.per_parent + other.per_parent, SATURATION)
        self.fixed = min(self.fixed + other.fixed, SATURATION)
        self.variable = self.variable or other.variable

    def cost(self) -> int:
        """Upstream requests for one parent (an operation's root), rounded up."""
        return min(math.ceil(min(self.per_parent + self.fixed, SATURATION) - 1e-9), SATURATION)


def _sum(a: int, b: int) -> int:
    return min(a + b, SATURATION)


class TooNested(Exception):
    """Selection sets nest deeper than ``MAX_NESTING``."""


class Measure:
    """One pass over one document; ``visited`` counts the nodes it looked at."""

    def __init__(
        self,
        schema: GraphQLSchema,
        document: DocumentNode,
        batch_size: BatchSize,
        variables: Mapping[str, Any] | None = None,
    ) -> None:
        """``variables`` ``None``: a size given by a variable is taken at its default and the
        shape marked ``variable``."""
        self.schema = schema
        self.batch_size = batch_size
        self.variables = variables
        self.fragments = {
            node.name.value: node for node in document.definitions if isinstance(node, FragmentDefinitionNode)
        }
        self._measured: dict[str, Shape] = {}
        self._measuring: set[str] = set()
        self._nesting = 0
        self.visited = 0

    def operation(self, operation: OperationDefinitionNode) -> Shape:
        root = self.schema.get_root_type(operation.operation)
        shape = self.selection_set(operation.selection_set, root)
        shape.directives = _sum(shape.directives, len(operation.directives or ()))
        return shape

    def fragment(self, name: str) -> Shape:
        """A fragment's shape, measured on first use (a cycle measures as empty: validation reports it)."""
        shape = self._measured.get(name)
        if shape is not None:
            return shape
        definition = self.fragments.get(name)
        if definition is None or name in self._measuring:
            return Shape()
        self._measuring.add(name)
        parent = self.schema.get_type(definition.type_condition.name.value)
        shape = self.selection_set(definition.selection_set, parent)
        shape.directives = _sum(shape.directives, len(definition.directives or ()))
        self._measuring.discard(name)
        self._measured[name] = shape
        return shape

    def selection_set(self, selection_set: SelectionSetNode, parent: Any) -> Shape:
        if self._nesting >= MAX_NESTING:
            raise TooNested
        self._nesting += 1
        try:
            return self._selections(selection_set, parent)
        finally:
            self._nesting -= 1

    def _selections(self, selection_set: SelectionSetNode, parent: Any) -> Shape:
        shape = Shape()
        for selection in selection_set.selections:
            self.visited += 1
            if isinstance(selection, FieldNode):
                shape.add(self._field(selection, parent))
            elif isinstance(selection, FragmentSpreadNode):
                shape.add(self.fragment(selection.name.value))
                shape.directives = _sum(shape.directives, len(selection.directives or ()))
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                inner = self.schema.get_type(condition.name.value) if condition is not None else parent
                shape.add(self.selection_set(selection.selection_set, inner))
                shape.directives = _sum(shape.directives, len(selection.directives or ()))
        return shape

    def _field(self, node: FieldNode, parent: Any) -> Shape:
        name = node.name.value
        definition = parent.fields.get(name) if isinstance(parent, GraphQLObjectType | GraphQLInterfaceType) else None
        if node.selection_set is not None:
            inner = get_named_type(definition.type) if definition is not None else None
            child = self.selection_set(node.selection_set, inner)
        else:
            child = Shape()
        shape = Shape(
            depth=0 if name.startswith("__") or node.selection_set is None else _sum(child.depth, 1),
            aliases=_sum(child.aliases, 1 if node.alias is not None else 0),
            directives=_sum(child.directives, len(node.directives or ())),
            fields=_sum(child.fields, 1),
            width=1,
            variable=child.variable,
        )
        cost = field_cost(definition) if definition is not None else None
        if cost is None:
            shape.per_parent, shape.fixed = child.per_parent, child.fixed
            return shape
        size = 1
        if cost.size is not None and definition is not None:
            size, variable = self._size(node, cost, definition.args.get(cost.size))
            shape.variable = shape.variable or variable
        per_parent, fixed = float(cost.writes), 0.0
        if cost.read is not None:
            batch = self.batch_size(cost.read)
            if batch is None:
                per_parent += 1.0
            else:
                per_parent += 1.0 / batch
                fixed += 1.0
        shape.per_parent = min(per_parent + child.per_parent * size, SATURATION)
        shape.fixed = min(fixed + child.fixed, SATURATION)
        return shape

    def _size(self, node: FieldNode, cost: FieldCost, argument: Any) -> tuple[int, bool]:
        """How many items the field returns per parent, and whether a variable said so."""
        default = argument.default_value if argument is not None else Undefined
        value: Any = Undefined
        variable = False
        for given in node.arguments or ():
            if given.name.value != cost.size:
                continue
            if isinstance(given.value, VariableNode):
                variable = True
                if self.variables is not None:
                    value = self.variables.get(given.value.name.value, Undefined)
            elif isinstance(given.value, IntValueNode):
                value = int(given.value.value) if len(given.value.value) < 14 else SATURATION
            elif isinstance(given.value, ListValueNode):
                value = len(given.value.values)
        if value is Undefined or value is None:
            value = default
        if isinstance(value, list | tuple):
            value = len(value)
        if not isinstance(value, int):
            return 1, variable
        return max(0, min(value, SATURATION)), variable


@dataclass(frozen=True, slots=True)
class Measured:
    """A document's verdict on its limits: errors, and per operation what a request must recheck."""

    errors: tuple[GraphQLError, ...]
    variable: Mapping[int, OperationDefinitionNode] = field(default_factory=dict)
    """Operations (by ``id``) whose cost depends on variables."""


class Complexity:
    """The limits of every document, measured once per text (``measure``) and, for costs that
    depend on variables, once per request (``cost_error``)."""

    def __init__(self, schema: GraphQLSchema, limits: Limits, batch_size: BatchSize) -> None:
        self.schema = schema
        self.limits = limits
        self.batch_size = batch_size

    def measure(self, document: DocumentNode) -> Measured:
        """Every operation's refusals; where there are none, the first fragment over a limit (an
        unused one is still validated, so it is measured too)."""
        measure = Measure(self.schema, document, self.batch_size)
        errors: list[GraphQLError] = []
        variable: dict[int, OperationDefinitionNode] = {}
        fragments: list[FragmentDefinitionNode] = []
        try:
            self._measure_all(document, measure, errors, variable, fragments)
        except TooNested:
            return Measured((_too_nested(),))
        return Measured(tuple(errors), variable)

    def _measure_all(
        self,
        document: DocumentNode,
        measure: Measure,
        errors: list[GraphQLError],
        variable: dict[int, OperationDefinitionNode],
        fragments: list[FragmentDefinitionNode],
    ) -> None:
        for definition in document.definitions:
            if isinstance(definition, OperationDefinitionNode):
                shape = measure.operation(definition)
                errors.extend(self._static_errors(definition, shape))
                if shape.variable:
                    variable[id(definition)] = definition
                else:
                    errors.extend(self._cost_errors(definition, shape))
            elif isinstance(definition, FragmentDefinitionNode):
                fragments.append(definition)
        for fragment in fragments if not errors else ():
            errors.extend(self._static_errors(fragment, measure.fragment(fragment.name.value))[:1])
            if errors:
                break

    def cost_error(
        self, document: DocumentNode, operation: OperationDefinitionNode, variables: Mapping[str, Any]
    ) -> GraphQLError | None:
        """The cost refusal of ``operation`` run with ``variables`` (coerced), if any."""
        try:
            shape = Measure(self.schema, document, self.batch_size, variables).operation(operation)
        except TooNested:
            return _too_nested()
        errors = self._cost_errors(operation, shape)
        return errors[0] if errors else None

    def _static_errors(
        self, node: OperationDefinitionNode | FragmentDefinitionNode, shape: Shape
    ) -> list[GraphQLError]:
        limits = self.limits
        checks = [
            ("depth", shape.depth, limits.max_depth, "a depth of {}"),
            ("aliases", shape.aliases, limits.max_aliases, "{} aliases"),
            ("directives", shape.directives, limits.max_directives, "{} directives"),
            ("fields", shape.fields, limits.max_fields, "{} fields after fragment expansion"),
        ]
        if isinstance(node, OperationDefinitionNode):
            checks.insert(2, ("root_fields", shape.width, limits.max_root_fields, "{} root fields"))
        return [
            _refusal(node, limit, value, maximum, what) for limit, value, maximum, what in checks if value > maximum
        ]

    def _cost_errors(self, node: OperationDefinitionNode, shape: Shape) -> list[GraphQLError]:
        cost = shape.cost()
        if cost <= self.limits.max_cost:
            return []
        return [_refusal(node, "cost", cost, self.limits.max_cost, "a cost of {} upstream requests")]


def _refusal(
    node: OperationDefinitionNode | FragmentDefinitionNode, limit: str, value: int, maximum: int, what: str
) -> GraphQLError:
    kind = "fragment" if isinstance(node, FragmentDefinitionNode) else "operation"
    name = node.name.value[:100] if node.name is not None else None
    named = f"The {kind} '{name}'" if name else f"The {kind}"
    return GraphQLError(
        f"{named} has {what.format(value)}; the limit is {maximum}.",
        nodes=[node],
        extensions={"code": VALIDATION_FAILED, "limit": limit, "value": value, "maximum": maximum},
    )


def _too_nested() -> GraphQLError:
    return GraphQLError(
        f"The document nests selections (fields, fragments) more than {MAX_NESTING} deep.",
        extensions={"code": VALIDATION_FAILED, "limit": "nesting", "value": MAX_NESTING + 1, "maximum": MAX_NESTING},
    )
