"""Reads started before the executor asks for them, as fields declare them (``schema.selection``):
ahead of a parent resolved by key (``read_ahead``), and from an answer for all the parents it
brought (``read_from``), level after level as answers come in.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any

from graphql import GraphQLObjectType, GraphQLResolveInfo

from resolvers.errors import InvalidArgument
from resolvers.loaders import Loaders, when_done
from schema.selection import READ_AHEAD, READ_FROM, Ahead, From, Selection, Then, declares, levels, reaches
from schema.selection_walk import Walk


def start_reads_ahead(loaders: Loaders, parent_key: str, info: GraphQLResolveInfo[Any], type_name: str) -> None:
    """Start every field of the selection of ``info`` (a parent of type ``type_name``) that declares
    ``read_ahead``, with the read of the parent resolved by ``parent_key``; the fields that ask for
    them later get the same futures. For a parent that turns out not to exist they are wasted reads,
    answered by nobody. A selection without such fields costs one cached look-up (a list of users'
    organizations resolves this once per user)."""
    parent = info.schema.get_type(type_name)
    assert isinstance(parent, GraphQLObjectType)
    nodes = tuple(info.field_nodes)
    if not declares(nodes, parent, READ_AHEAD, info):
        return
    declared = Selection(nodes, parent, Walk.of(info)).declared(READ_AHEAD)
    declared.sort(key=_levels_below, reverse=True)
    ahead: Ahead
    for ahead, arguments, below in declared:
        try:
            started = ahead.start(loaders, parent_key, arguments, below)
        except InvalidArgument:
            continue
        add_done_callback = getattr(started, "add_done_callback", None)
        if add_done_callback is not None:
            add_done_callback(_retrieve)
        if ahead.then is not None and isinstance(started, asyncio.Future) and reaches(below.type):
            loaders.then(started, _Continue(loaders, ahead.then, below))


def _levels_below(declared: tuple[Ahead, Mapping[str, Any], Selection]) -> int:
    """How many levels of reads a read ahead's answer leads to, as its type declares them: the
    read with the longest chain behind it is started (and goes upstream) first."""
    ahead, _, below = declared
    return 0 if ahead.then is None else levels(below.type)


def start_reads_from(loaders: Loaders, parents: Sequence[Any], selection: Selection) -> None:
    """Start the reads that ``selection`` (made of the parents' type) declares ``read_from``, for
    all ``parents`` at once, and go on below: through its fields without a resolver, and into the
    answers of the fields that declare ``then`` (at once for those already in, else when all are)."""
    if not parents or loaders.released:
        return
    declared: From
    for declared, arguments, below in selection.declared(READ_FROM):
        try:
            started = declared.start(loaders, parents, arguments, below)
        except InvalidArgument:
            continue
        if declared.then is not None and started and reaches(below.type):
            _when_answered(loaders, started, declared.then, below)
    for attribute, below in selection.descents():
        values: list[Any] = []
        for parent in parents:
            value = getattr(parent, attribute)
            if isinstance(value, list):
                values.extend(value)
            elif value is not None:
                values.append(value)
        start_reads_from(loaders, values, below)


class _Continue:
    """What a read's answer leads to: the reads its field's selection declares, from its value (a
    plain class: compiled, a dataclass's generated ``__init__`` runs interpreted)."""

    __slots__ = ("loaders", "selection", "then")

    def __init__(self, loaders: Loaders, then: Then, selection: Selection) -> None:
        self.loaders = loaders
        self.then = then
        self.selection = selection

    def __call__(self, answer: Any) -> None:
        value = self.then(answer)
        if value is not None:
            start_reads_from(self.loaders, [value], self.selection)


def _when_answered(loaders: Loaders, futures: Sequence[asyncio.Future[Any]], then: Then, below: Selection) -> None:
    when_done(futures, lambda: start_reads_from(loaders, _values(futures, then), below))


def _values(futures: Sequence[asyncio.Future[Any]], then: Then) -> list[Any]:
    """The field values of the found answers (a failed or missing one is its field's to report)."""
    values = []
    for future in futures:
        if future.cancelled() or future.exception() is not None:
            continue
        answer = future.result()
        value = None if answer is None else then(answer)
        if value is not None:
            values.append(value)
    return values


def _retrieve(future: Any) -> None:
    """A read nobody asks for after all (the parent was not found) is not a lost error."""
    if not future.cancelled():
        future.exception()
