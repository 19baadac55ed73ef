"""The limits pass does work linear in the document: each selection of the text is visited once,
however often its fragment is spread. Work is counted in visited nodes, never timed."""

from __future__ import annotations

from collections.abc import Callable

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    OperationDefinitionNode,
    Visitor,
    parse,
    visit,
)
from harness import DASHBOARD_QUERY
from hypothesis import given, settings
from hypothesis import strategies as st

from schema.complexity import MAX_NESTING, SATURATION, Complexity, Limits, Measure
from schema.root import build_schema

SCHEMA = build_schema()._schema


def batch_of_100(_read: object) -> int:
    return 100


def fan(width: int) -> str:
    """One fragment spreading ``width`` fragments, each spreading a shared leaf twice."""
    spreads = " ".join(f"...G{i}" for i in range(width))
    middles = "\n".join(f"fragment G{i} on User {{ ...Leaf ...Leaf name }}" for i in range(width))
    return f'{{ user(id: "user-1") {{ ...Fan }} }}\nfragment Fan on User {{ {spreads} }}\n{middles}\n' + (
        "fragment Leaf on User { id email }"
    )


def doubling_chain(links: int) -> str:
    fragments = [f"fragment F{i} on User {{ ...F{i + 1} ...F{i + 1} }}" for i in range(links)]
    return '{ user(id: "user-1") { ...F0 } }\n' + "\n".join([*fragments, f"fragment F{links} on User {{ id }}"])


def wide_aliases(width: int) -> str:
    return "{ " + " ".join(f'a{i}: user(id: "user-{i}") {{ id }}' for i in range(width)) + " }"


def deep(levels: int) -> str:
    return '{ user(id: "user-1") { ' + "organization { " * levels + "id" + " }" * levels + " } }"


SHAPES: dict[str, tuple[Callable[[int], str], int]] = {
    "fan": (fan, 400),
    "doubling_chain": (doubling_chain, MAX_NESTING - 5),
    "wide_aliases": (wide_aliases, 400),
    "deep": (deep, MAX_NESTING // 2 - 5),
}


class _Selections(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def enter(self, node: object, *_: object) -> None:
        if isinstance(node, FieldNode | FragmentSpreadNode | InlineFragmentNode):
            self.count += 1


def selections(document: DocumentNode) -> int:
    counter = _Selections()
    visit(document, counter)
    return counter.count


def visited(text: str) -> tuple[int, int]:
    document = parse(text, max_tokens=100_000)
    measure = Measure(SCHEMA, document, batch_of_100)
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode):
            measure.operation(definition)
    return measure.visited, selections(document)


@settings(max_examples=60, deadline=None)
@given(shape=st.sampled_from(sorted(SHAPES)), size=st.integers(min_value=1, max_value=400))
def test_each_selection_is_visited_at_most_once(shape: str, size: int) -> None:
    build, most = SHAPES[shape]
    seen, in_text = visited(build(min(size, most)))
    assert seen <= in_text


@settings(max_examples=30, deadline=None)
@given(shape=st.sampled_from(sorted(SHAPES)), size=st.integers(min_value=1, max_value=40))
def test_work_doubles_at_most_when_the_shape_doubles(shape: str, size: int) -> None:
    build, _ = SHAPES[shape]
    small, _ = visited(build(size))
    large, _ = visited(build(2 * size))
    assert large <= 2 * small + 2


def test_a_chain_of_a_hundred_doubling_fragments_saturates_instead_of_expanding() -> None:
    document = parse(doubling_chain(60), max_tokens=100_000)
    measure = Measure(SCHEMA, document, batch_of_100)
    shape = measure.fragment("F0")
    assert shape.fields == SATURATION
    assert measure.visited == 2 * 60 + 1
    refused = Complexity(SCHEMA, Limits(), batch_of_100).measure(parse(doubling_chain(100), max_tokens=100_000))
    assert refused.errors
    assert refused.errors[0].extensions is not None
    assert refused.errors[0].extensions["code"] == "GRAPHQL_VALIDATION_FAILED"


def test_the_dashboard_costs_about_what_the_loaders_spend() -> None:
    document = parse(DASHBOARD_QUERY)
    measured = Complexity(SCHEMA, Limits(), batch_of_100).measure(document)
    assert measured.errors == ()
    operation = document.definitions[0]
    assert isinstance(operation, OperationDefinitionNode)
    shape = Measure(SCHEMA, document, batch_of_100).operation(operation)
    assert 7 <= shape.cost() <= 20
