"""A selection set turned into steps: one per response key, each carrying its field's plan.

The executor (``schema.execution``) runs an object's selection by running its steps; a step with
no plan is left to graphql-core's ``execute_field``. Steps are made once per grouped field set
(``steps_of``) and, with the collected fields below a composite step (``Collected``), shared as far
as the collection is (``schema.collected``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from graphql import FieldNode, GraphQLObjectType, GraphQLSchema
from graphql.execution.collect_fields import FieldDetailsList, GroupedFieldSet
from graphql.execution.executor import to_nodes

from schema.collected import has_variable
from schema.plans import CompositePlan, FieldPlan, LeafPlan, Leaves, plan_field


@dataclass(eq=False)
class Step:
    response_name: str
    plan: FieldPlan | None
    """None: graphql-core's ``execute_field``."""
    field_details_list: FieldDetailsList
    field_nodes: list[FieldNode]
    """What a resolver's info holds; shared by every object the step runs on."""
    arguments: bool
    """The field declares arguments or the query passes some: a resolver step coerces them."""
    literal: bool
    """No argument the query passes refers to a variable: they coerce the same for every request."""
    subselection: Collected | None = None
    """For a composite plan, once met: its selection's collected fields on the plan's object type
    (``GatewayExecutionContext._subselection``). A step is shared exactly as far as that is: across
    the requests of an operation whose collection does not depend on the request, else within one
    request."""
    kept_arguments: dict[str, Any] | None = None
    """For a ``literal`` step whose arguments are all scalars or enum values, once coerced: those
    arguments, for every object and every request the step runs on
    (``PlannedExecutionState._arguments_of``)."""


Steps = tuple[Step, ...]


@dataclass(frozen=True, eq=False)
class Selection:
    """A selection set's steps on one object type (hashed and compared by identity: the executor
    keys the objects it has read by their selection)."""

    steps: Steps
    read: Leaves | None
    """The leaf steps read by their attribute the selection starts with, read into the object's output in one go
    (``schema.plans.read_leaves``); None when the first step is no leaf plan."""
    rest: Steps
    """The steps after those ``read`` reads."""
    type_name: str
    """The name of the object type the steps run on."""


@dataclass(frozen=True)
class Collected:
    """A selection's collected fields on one object type, and their steps."""

    object_type: GraphQLObjectType
    nodes: tuple[FieldNode, ...]
    """The selection's field nodes; with ``object_type``, kept alive while the entry is shared."""
    grouped_field_set: GroupedFieldSet
    selection: Selection | None
    """None when the selection defers fields: graphql-core's path then."""
    leaves: Leaves | None
    """When every step is a leaf plan (the output is a function of the object's attributes
    alone): the selection's leaves, which are all of it."""


def steps_of(
    schema: GraphQLSchema,
    plans: dict[tuple[str, str], FieldPlan | None],
    parent_type: GraphQLObjectType,
    grouped_field_set: GroupedFieldSet,
) -> Selection:
    """The steps of ``grouped_field_set`` on ``parent_type``; a field met for the first time is
    planned into ``plans``."""
    steps: list[Step] = []
    for response_name, field_details_list in grouped_field_set.items():
        node = field_details_list[0].node
        key = (parent_type.name, node.name.value)
        if key in plans:
            plan = plans[key]
        else:
            plan = plans[key] = plan_field(schema, parent_type, key[1])
        if isinstance(plan, LeafPlan) and node.arguments:
            plan = None
        elif isinstance(plan, CompositePlan) and plan.list_type is not None and node.directives:
            plan = None  # a list field with directives may be streamed
        arguments = bool(node.arguments) or (isinstance(plan, CompositePlan) and plan.has_args)
        literal = field_details_list[0].fragment_variable_values is None and not any(
            has_variable(argument.value) for argument in node.arguments or ()
        )
        steps.append(Step(response_name, plan, field_details_list, to_nodes(field_details_list), arguments, literal))
    return _selection(tuple(steps), parent_type.name)


def _selection(steps: Steps, type_name: str) -> Selection:
    count = next((index for index, step in enumerate(steps) if not _read_by_attribute(step.plan)), len(steps))
    leaves = [(step.response_name, step.plan) for step in steps[:count] if isinstance(step.plan, LeafPlan)]
    return Selection(steps, tuple(leaves) if leaves else None, steps[count:], type_name)


def _read_by_attribute(plan: FieldPlan | None) -> bool:
    """A leaf plan read by its attribute (not by an ``answered_now`` function): ``read_leaves`` reads it."""
    return type(plan) is LeafPlan and plan.now is None
