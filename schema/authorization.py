"""Authorization declared beside the types, enforced in one place.

A field says who may resolve it with Apollo Federation's directives, so a router composing this
subgraph sees the same rules: ``@authenticated`` (any identified caller, else ``UNAUTHENTICATED``)
and ``@requiresScopes(scopes: [["a", "b"], ["c"]])`` (all scopes of one inner list, else
``FORBIDDEN``). Federation has no location for rules on inputs, so an input field or argument
says what giving it a (non-null) value needs with ``@inputRequiresScopes`` (same shape, composed
into the supergraph with ``@composeDirective``; refused with ``FORBIDDEN``).

``guard_schema`` runs once when the schema is built: the resolver (and a subscription's
``subscribe``) of every field that carries a rule, or takes an input that does, is wrapped by a
check of ``info.context.caller`` made before the resolver runs (so a refused mutation never
reaches its upstream, a refused subscription never its feed). Fields without a rule are
left as they are and pay nothing. A guarded field is marked (``is_guarded``) so that the planned
executor never reads it without its resolver. A rule declared where it would not be enforced
(on a type, a scalar, an enum) stops the build.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import strawberry
from graphql import (
    GraphQLArgument,
    GraphQLField,
    GraphQLFieldResolver,
    GraphQLInputField,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLResolveInfo,
    default_field_resolver,
)
from strawberry.federation.schema_directives import Authenticated, RequiresScopes
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.schema_directive import Location

from resolvers.errors import Forbidden, Unauthenticated
from schema.context import Caller

_GUARD = "mobius.authorization"
AUTHORIZATION_SPEC = "https://specs.mobius.dev/authorization/v0.1"


@strawberry.federation.schema_directive(
    locations=[Location.INPUT_FIELD_DEFINITION, Location.ARGUMENT_DEFINITION],
    name="inputRequiresScopes",
    description="Giving this input a non-null value needs all scopes of one of the inner lists.",
    compose=True,
    import_url=AUTHORIZATION_SPEC,
)
class InputRequiresScopes:
    scopes: list[list[str]]


@dataclass(frozen=True, slots=True)
class Rule:
    coordinate: str
    """``Type.field`` or ``Input.field``, for the refusal's message."""
    authenticated: bool
    scopes: tuple[frozenset[str], ...]
    """Any one of these sets, all of its scopes; empty: no scope is needed."""

    def check(self, caller: Caller) -> None:
        if self.authenticated and not caller.authenticated:
            raise Unauthenticated(f"`{self.coordinate}` needs an authenticated caller")
        if self.scopes and not any(needed <= caller.scopes for needed in self.scopes):
            raise Forbidden(f"`{self.coordinate}` needs {_describe(self.scopes)}")


@dataclass(frozen=True, slots=True)
class InputRule:
    rule: Rule
    path: tuple[str, ...]
    """The argument's name, then input field names down to the guarded one."""

    def check(self, caller: Caller, arguments: dict[str, Any]) -> None:
        if _given(arguments, self.path):
            self.rule.check(caller)


def _describe(alternatives: tuple[frozenset[str], ...]) -> str:
    options = [" and ".join(f"`{scope}`" for scope in sorted(scopes)) for scopes in alternatives]
    noun = "scope" if len(alternatives) == 1 and len(alternatives[0]) == 1 else "scopes"
    return f"the {noun} " + " or ".join(options)


def _given(value: Any, path: tuple[str, ...]) -> bool:
    """Whether a non-null value sits at ``path`` (through lists, in any item)."""
    if not path:
        return value is not None
    if isinstance(value, list):
        return any(_given(item, path) for item in value)
    return isinstance(value, dict) and _given(value.get(path[0]), path[1:])


def is_guarded(field_def: GraphQLField) -> bool:
    """Whether the field's resolver checks an authorization rule (and so must always be called)."""
    return _GUARD in (field_def.extensions or {})


def scopes_named(field_def: GraphQLField) -> frozenset[str]:
    """Every scope the rules of the field and of its inputs mention: what of a caller's scopes
    can change the field's authorization outcome."""
    guard = (field_def.extensions or {}).get(_GUARD)
    if guard is None:
        return frozenset()
    rule, input_rules = guard
    rules = [input_rule.rule for input_rule in input_rules] + ([] if rule is None else [rule])
    return frozenset(scope for each in rules for needed in each.scopes for scope in needed)


CALLER_DEPENDENT = frozenset({"Query.viewer"})
"""Fields whose resolver reads the caller beyond the rules above (their result differs per caller
even where the rules agree)."""


def guard_schema(schema: strawberry.Schema) -> None:
    """Wrap the resolver of every field with a rule on itself or on its inputs."""
    for graphql_type in schema._schema.type_map.values():
        if graphql_type.name.startswith("__"):
            continue
        _refuse_type_rules(graphql_type)
        if not isinstance(graphql_type, GraphQLObjectType):
            continue
        for name, field_def in graphql_type.fields.items():
            coordinate = f"{graphql_type.name}.{name}"
            rule = _rule_of(coordinate, _directives(field_def))
            input_rules = tuple(
                input_rule
                for argument_name, argument in field_def.args.items()
                for input_rule in _input_rules(argument_name, argument, coordinate)
            )
            if rule is not None or input_rules:
                field_def.resolve = _guarded(field_def.resolve or default_field_resolver, rule, input_rules)
                if field_def.subscribe is not None:  # checked when a client subscribes, before any event
                    field_def.subscribe = _guarded(field_def.subscribe, rule, input_rules)
                field_def.extensions = {**(field_def.extensions or {}), _GUARD: (rule, input_rules)}


def _guarded(
    resolve: GraphQLFieldResolver, rule: Rule | None, input_rules: tuple[InputRule, ...]
) -> GraphQLFieldResolver:
    if not input_rules:
        assert rule is not None

        def check_caller(source: Any, info: GraphQLResolveInfo[Any], **arguments: Any) -> Any:
            rule.check(info.context.caller)
            return resolve(source, info, **arguments)

        return check_caller

    def check_caller_and_inputs(source: Any, info: GraphQLResolveInfo[Any], **arguments: Any) -> Any:
        caller = info.context.caller
        if rule is not None:
            rule.check(caller)
        for input_rule in input_rules:
            input_rule.check(caller, arguments)
        return resolve(source, info, **arguments)

    return check_caller_and_inputs


def _input_rules(name: str, argument: GraphQLArgument, coordinate: str) -> list[InputRule]:
    rules = []
    own = _rule_of(f"{coordinate}({name}:)", _directives(argument))
    if own is not None:
        rules.append(InputRule(own, (name,)))
    rules.extend(_nested_input_rules(argument.type, (name,), frozenset()))
    return rules


def _nested_input_rules(input_type: GraphQLInputType, path: tuple[str, ...], seen: frozenset[str]) -> list[InputRule]:
    while isinstance(input_type, GraphQLNonNull | GraphQLList):
        input_type = input_type.of_type
    if not isinstance(input_type, GraphQLInputObjectType) or input_type.name in seen:
        return []
    rules = []
    for field_name, input_field in input_type.fields.items():
        field_path = (*path, field_name)
        rule = _rule_of(f"{input_type.name}.{field_name}", _directives(input_field))
        if rule is not None:
            rules.append(InputRule(rule, field_path))
        rules.extend(_nested_input_rules(input_field.type, field_path, seen | {input_type.name}))
    return rules


def _rule_of(coordinate: str, directives: Sequence[object]) -> Rule | None:
    authenticated = any(isinstance(directive, Authenticated) for directive in directives)
    scopes = tuple(
        frozenset(alternative)
        for directive in directives
        if isinstance(directive, RequiresScopes | InputRequiresScopes)
        for alternative in directive.scopes
    )
    if not authenticated and not scopes:
        return None
    return Rule(coordinate=coordinate, authenticated=authenticated, scopes=scopes)


def _directives(definition: GraphQLField | GraphQLArgument | GraphQLInputField | Any) -> Sequence[object]:
    strawberry_definition = (definition.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
    return tuple(getattr(strawberry_definition, "directives", None) or ())


def _refuse_type_rules(graphql_type: Any) -> None:
    if _rule_of(graphql_type.name, _directives(graphql_type)) is not None:
        raise TypeError(
            f"{graphql_type.name}: declare @authenticated/@requiresScopes on its fields; on a type they would not "
            "be enforced here"
        )
