"""Both executors answer generated documents alike under generated upstream faults (see
``differential_support``). Documents are generated over the Mobius SDL by hypothesis-graphql, with
ids, page sizes and cursors drawn from the seeded data so that most of them find something, and
mixed with the hand-written ones (``differential_documents``). Faults are per upstream and route,
each failing every request it applies to.

The default run is small (seconds); ``MOBIUS_DIFFERENTIAL_EXAMPLES=3000`` runs thousands of
generated documents, ``MOBIUS_DIFFERENTIAL_SEED`` picks another sequence of them."""

from __future__ import annotations

import dataclasses
import os
from typing import Any

from differential_documents import HANDWRITTEN, ORG_IDS, PROJECT_IDS, USER_IDS
from differential_support import DIFFERENTIAL_WARNINGS, ROUTES, Case, Executors
from graphql import (
    ArgumentNode,
    DocumentNode,
    FieldNode,
    ListValueNode,
    NameNode,
    NullValueNode,
    ObjectFieldNode,
    ValueNode,
    Visitor,
    print_ast,
    visit,
)
from hypothesis import HealthCheck, event, given, seed, settings
from hypothesis import strategies as st
from hypothesis_graphql import nodes, queries

from schema.root import build_schema

pytestmark = DIFFERENTIAL_WARNINGS


EXAMPLES = int(os.environ.get("MOBIUS_DIFFERENTIAL_EXAMPLES", "25"))
SEED = int(os.environ.get("MOBIUS_DIFFERENTIAL_SEED", "13"))


# Faults: per upstream, on all its routes or some; each fails every request it applies to.

FAILURES = [
    {"error_rate": 1, "status": 503},
    {"error_rate": 1, "status": 500},
    {"error_rate": 1, "status": 400},
    {"error_rate": 1, "status": 404},
    {"malformed": True},
    {"reset_connection": True},
    {"hang": True},
]


def upstream_faults(upstream: str) -> st.SearchStrategy[dict[str, Any]]:
    latency = st.sampled_from([0, 0, 3, 15]).map(lambda ms: {"latency_ms": ms} if ms else {})
    routes = st.lists(st.sampled_from(ROUTES[upstream]), min_size=1, max_size=2, unique=True)
    where = st.one_of(st.just({}), routes.map(lambda chosen: {"routes": sorted(chosen)}))
    failing = st.builds(lambda failure, at, slow: {**failure, **at, **slow}, st.sampled_from(FAILURES), where, latency)
    return st.one_of(st.just({}), latency, failing)


fault_plans = st.fixed_dictionaries({upstream: upstream_faults(upstream) for upstream in ROUTES}).map(
    lambda plan: {upstream: faults for upstream, faults in plan.items() if faults}
)


# Generated documents: hypothesis-graphql over the schema, with argument values redrawn from the
# seeded data (an arbitrary string id finds nothing, an arbitrary page size is refused).

GENERATED_ROOTS = ["organization", "user", "users", "project", "viewer", "_entities", "_service"]
"""Every root field but ``upstreams`` and ``cacheStats``: they report timings and per-process counters."""


def representation(typename: str, entity_id: str) -> ValueNode:
    fields = [("__typename", typename), ("id", entity_id)]
    return nodes.Object([ObjectFieldNode(name=NameNode(value=key), value=nodes.String(value)) for key, value in fields])


ENTITY_REPRESENTATIONS = st.sampled_from(
    [("User", USER_IDS), ("Organization", ORG_IDS), ("Project", PROJECT_IDS)]
).flatmap(lambda kind: st.sampled_from(kind[1]).map(lambda entity_id: representation(kind[0], entity_id)))


def id_pool(field_name: str) -> list[str]:
    return {"organization": ORG_IDS, "user": USER_IDS, "users": USER_IDS, "project": PROJECT_IDS}.get(
        field_name, ORG_IDS + USER_IDS + PROJECT_IDS
    )


class RedrawArguments(Visitor):
    """Ids from the seeded data, page sizes mostly accepted, cursors and filters mostly absent."""

    def __init__(self, draw: st.DrawFn) -> None:
        super().__init__()
        self.draw = draw

    def enter_field(self, node: FieldNode, *_: Any) -> FieldNode | None:
        if not node.arguments:
            return None
        arguments = tuple(self.redrawn(node.name.value, argument) for argument in node.arguments)
        return dataclasses.replace(node, arguments=arguments)

    def redrawn(self, field_name: str, argument: ArgumentNode) -> ArgumentNode:
        name, draw = argument.name.value, self.draw
        value: ValueNode = argument.value
        if name == "id":
            value = nodes.String(draw(st.sampled_from(id_pool(field_name))))
        elif name == "ids":
            ids = draw(st.lists(st.sampled_from(id_pool(field_name)), max_size=4))
            value = ListValueNode(values=tuple(nodes.String(user_id) for user_id in ids))
        elif name == "first":
            value = nodes.Int(draw(st.sampled_from([1, 2, 3, 5, 0, -1, 101])))
        elif name == "after":
            # Not drawn: a rejected cursor on one projects page fails the other pages merged into
            # its upstream request (a loader bug of issue 13), and which pages are merged depends
            # on timing, so either executor may meet it on a given run.
            value = NullValueNode()
        elif name == "status":
            value = draw(
                st.sampled_from([NullValueNode(), NullValueNode(), nodes.String("bogus"), nodes.String("open")])
            )
        return dataclasses.replace(argument, value=value)


@st.composite
def generated_documents(draw: st.DrawFn) -> str:
    strategy = queries(
        build_schema()._schema,
        fields=GENERATED_ROOTS,
        custom_scalars={"_Any": ENTITY_REPRESENTATIONS},
        print_ast=lambda document: document,
        allow_x00=False,
    )
    document: DocumentNode = draw(strategy)
    return print_ast(visit(document, RedrawArguments(draw)))


# The variables a hand-written document may use (extra ones are ignored); each case draws them.

variable_values = st.fixed_dictionaries(
    {
        "org": st.sampled_from(ORG_IDS),
        "user": st.sampled_from(USER_IDS),
        "project": st.sampled_from(PROJECT_IDS),
        "first": st.sampled_from([1, 2, 3, 0, 101]),
        "yes": st.booleans(),
        "no": st.booleans(),
        "orgId": st.sampled_from(ORG_IDS),
    }
)


@st.composite
def cases(draw: st.DrawFn) -> Case:
    generated = generated_documents()
    document = draw(st.one_of(generated, generated, generated, st.sampled_from(sorted(HANDWRITTEN.values()))))
    return Case(document, draw(variable_values), draw(fault_plans), draw(st.booleans()))


@seed(SEED)
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    print_blob=True,
    suppress_health_check=list(HealthCheck),
)
@given(case=cases())
async def test_both_executors_answer_generated_documents_alike_under_upstream_faults(
    executors: Executors, case: Case
) -> None:
    answer = await executors.compare(case)
    event("hand-written" if case.document in HANDWRITTEN.values() else "generated")
    event("faults" if case.faults else "no faults")
    event("data" if answer.get("data") else "no data")
    event("errors" if answer["errors"] else "no errors")
