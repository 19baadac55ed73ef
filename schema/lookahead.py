"""What a query will ask below a field, read from its selection before the field's children run.

``nested_issues``: which issue pages a query asks of the projects under ``Organization.projects``.
``organization_reads``: what an ``organization`` selection reads with only the organization's id
(``resolvers.read_ahead``).

Read from the client's selection (``projects { nodes { issues(...) } }``, through aliases,
fragments and inline fragments, honouring ``@skip``/``@include``) so the projects page can bring
them in the same upstream request. It runs for every ``projects`` field, so the walk over the
document is done once per set of field nodes (parsed documents are cached, so their nodes are the
same objects from one request to the next) and literal arguments and conditions are settled then:
without variables the answer itself is kept (well under a microsecond per call); with them, only
the ``issues`` nodes and conditions that use variables are evaluated per request.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLIncludeDirective,
    GraphQLObjectType,
    GraphQLResolveInfo,
    GraphQLSchema,
    GraphQLSkipDirective,
    InlineFragmentNode,
    SelectionSetNode,
)
from graphql.execution.values import VariableValues, get_argument_values, get_directive_values
from strawberry.types.nodes import get_variable_values

from clients.projects import IssuesArgs
from resolvers.errors import InvalidArgument, check_page_size
from resolvers.read_ahead import OrganizationReads, PageRead
from schema.collected import has_variable

Conditional = FieldNode | InlineFragmentNode | FragmentSpreadNode


@dataclass(frozen=True, slots=True)
class _Selected:
    """One ``issues`` field node, with what could not be settled without the variables."""

    node: FieldNode
    conditions: tuple[Conditional, ...]
    """Nodes whose ``@skip``/``@include`` depend on variables (literal ones were applied)."""
    args: IssuesArgs | None
    """Its arguments when they are literal; else read per request."""


@dataclass(frozen=True, slots=True)
class _Plan:
    field_nodes: tuple[FieldNode, ...]
    """Held so that the ids keying the plan cannot be reused by other nodes while it is cached."""
    issues_field: GraphQLField
    selected: tuple[_Selected, ...]
    constant: tuple[IssuesArgs, ...] | None
    """The answer when no variable is involved."""


_PLANS_MAX = 512
_plans: dict[tuple[int, ...], _Plan] = {}


def nested_issues(info: GraphQLResolveInfo[Any]) -> tuple[IssuesArgs, ...]:
    """The distinct issue pages asked of every project of this ``projects`` field, in query order.

    Argument sets that the ``issues`` resolver would refuse (``first`` out of range) are left out:
    the resolver reports them as usual.
    """
    return issues_under(tuple(info.field_nodes), info.schema, info.fragments, _variables(info))


def issues_under(
    field_nodes: tuple[FieldNode, ...],
    schema: GraphQLSchema,
    fragments: Mapping[str, FragmentDefinitionNode],
    variables: VariableValues,
) -> tuple[IssuesArgs, ...]:
    """``nested_issues`` for the field nodes of one ``projects`` response key."""
    key = tuple(map(id, field_nodes))
    plan = _plans.get(key)
    if plan is None:
        plan = _plan(field_nodes, schema, fragments)
        if len(_plans) >= _PLANS_MAX:
            _plans.clear()
        _plans[key] = plan
    if plan.constant is not None:
        return plan.constant
    found: dict[IssuesArgs, None] = {}
    for item in plan.selected:
        if all(_included(node, variables) for node in item.conditions):
            args = item.args or _args(item.node, plan.issues_field, variables)
            if args is not None:
                found[args] = None
    return tuple(found)


def _variables(info: GraphQLResolveInfo[Any]) -> VariableValues:
    return VariableValues(sources={}, coerced=get_variable_values(info))  # Strawberry passes the plain dict


def _plan(
    field_nodes: tuple[FieldNode, ...], schema: GraphQLSchema, fragments: Mapping[str, FragmentDefinitionNode]
) -> _Plan:
    project = schema.get_type("Project")
    assert isinstance(project, GraphQLObjectType)
    issues_field: GraphQLField = project.fields["issues"]
    selected: list[_Selected] = []
    for field_node in field_nodes:
        for nodes, node_conditions in _fields(field_node.selection_set, "nodes", fragments, ()):
            for issues, issues_conditions in _fields(nodes.selection_set, "issues", fragments, ()):
                conditions = (*node_conditions, *issues_conditions)
                if not all(_included(node, None) for node in conditions if not _conditions_use_variables(node)):
                    continue
                literal = not any(has_variable(argument.value) for argument in issues.arguments or ())
                args = _args(issues, issues_field, None) if literal else None
                if literal and args is None:
                    continue
                dynamic = tuple(node for node in conditions if _conditions_use_variables(node))
                selected.append(_Selected(issues, dynamic, args))
    constant = None
    if all(item.args is not None and not item.conditions for item in selected):
        constant = tuple(dict.fromkeys(item.args for item in selected if item.args is not None))
    return _Plan(field_nodes, issues_field, tuple(selected), constant)


def organization_reads(info: GraphQLResolveInfo[Any]) -> OrganizationReads:
    """The members pages, billing customer and projects pages (with their nested issue pages) an
    ``organization`` field's selection asks for, one per response key, ``@skip``/``@include``
    applied. Arguments that do not coerce are left out: the field reports them when it runs."""
    organization = info.schema.get_type("Organization")
    assert isinstance(organization, GraphQLObjectType)
    fragments, variables = info.fragments, _variables(info)
    members: list[PageRead] = []
    projects: list[PageRead] = []
    billing = False
    for name in ("members", "billing", "projects"):
        keys: dict[str, list[FieldNode]] = {}
        for field_node in info.field_nodes:
            for node, conditions in _fields(field_node.selection_set, name, fragments, ()):
                if all(_included(condition, variables) for condition in conditions):
                    keys.setdefault(node.alias.value if node.alias else name, []).append(node)
        if name == "billing":
            billing = bool(keys)
            continue
        for nodes in keys.values():
            try:
                values = get_argument_values(organization.fields[name], nodes[0], variables)
            except GraphQLError:
                continue
            if name == "members":
                members.append(PageRead(values["first"], values.get("after")))
            else:
                issues = issues_under(tuple(nodes), info.schema, fragments, variables)
                projects.append(PageRead(values["first"], values.get("after"), issues))
    return OrganizationReads(tuple(members), billing, tuple(projects))


def _fields(
    selection_set: SelectionSetNode | None,
    name: str,
    fragments: Mapping[str, FragmentDefinitionNode],
    conditions: tuple[Conditional, ...],
) -> Iterator[tuple[FieldNode, tuple[Conditional, ...]]]:
    """Fields called ``name`` in a selection set (aliased or not), through fragments."""
    if selection_set is None:
        return
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            if selection.name.value == name:
                yield selection, _under(conditions, selection)
        elif isinstance(selection, InlineFragmentNode):
            yield from _fields(selection.selection_set, name, fragments, _under(conditions, selection))
        elif isinstance(selection, FragmentSpreadNode):
            fragment = fragments.get(selection.name.value)
            if fragment is not None:
                yield from _fields(fragment.selection_set, name, fragments, _under(conditions, selection))


def _under(conditions: tuple[Conditional, ...], node: Conditional) -> tuple[Conditional, ...]:
    return (*conditions, node) if node.directives else conditions


def _included(node: Conditional, variables: VariableValues | None) -> bool:
    skip = get_directive_values(GraphQLSkipDirective, node, variables)
    if skip is not None and skip["if"] is True:
        return False
    include = get_directive_values(GraphQLIncludeDirective, node, variables)
    return include is None or include["if"] is not False


def _args(node: FieldNode, issues_field: GraphQLField, variables: VariableValues | None) -> IssuesArgs | None:
    try:
        values = get_argument_values(issues_field, node, variables)
        first = check_page_size(values["first"])
    except (GraphQLError, InvalidArgument):
        return None
    state = values.get("state")  # a member of the Python enum behind ``IssueState``
    return IssuesArgs(first, values.get("after"), state.value if state is not None else None)


def _conditions_use_variables(node: Conditional) -> bool:
    return any(
        has_variable(argument.value) for directive in node.directives or () for argument in directive.arguments or ()
    )
