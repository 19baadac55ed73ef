"""Readers generated for the leaf fields a selection starts with, in the manner of graphql-jit.

The executor reads a leaf step by step: take the step apart, call its reader, check the value's
type, store it. For the leaf steps at the start of a selection (``id name`` of every user, ``id
title state`` of every issue) one generated function does the same in one go: it reads each
attribute, keeps a value that is already its own output (a ``str`` for ``String``/``ID``, a
``bool``, a 32-bit ``int``, a member of the enum or one of its values as a ``str``, by its name:
the upstream's values are the schema's objects, and hold an enum field as its value) and hands
any other value to the leaf plan's ``complete``, as the step loop does; it returns the object's
output so far, or ``None`` when a value is not plain (the executor then reads the object again
on its general path, which reports it).

The generated code depends on the shape of the leaves alone (each one's attribute and kind of
value) and is kept per shape (at most ``MAX_SHAPES``). It holds no text from a request: response
names (aliases), types, enum names and plans are values bound to the function; an attribute name
(from the schema's definitions) is written as ``source.name`` only when it is an ASCII identifier
and no keyword, otherwise as a ``getattr`` with the name as a string literal; the code sees no
builtins but ``type``, ``int``, ``str`` and ``getattr``. This module is plain Python (it calls
``exec``).
"""

from __future__ import annotations

import keyword
from collections.abc import Callable, Sequence
from typing import Any

from graphql import GraphQLEnumType, Undefined

from schema.plans import NOT_PLAIN, LeafPlan

MAX_SHAPES = 1024
"""A bound on the generated code kept; past it, a new shape is generated for each selection."""

LeafReader = Callable[[Any, Callable[[Any], bool]], dict[str, Any] | None]
"""``(source, is_awaitable)``: the output of the leaves, or ``None`` when one is not plain."""

_Shape = tuple[tuple[str | None, str], ...]
"""Per leaf: the attribute (``None``: read by a configured default resolver) and its kind."""

_factories: dict[_Shape, Callable[..., LeafReader]] = {}

_INT_MIN, _INT_MAX = -(2**31), 2**31 - 1

_BUILTINS = {"type": type, "int": int, "str": str, "getattr": getattr}
"""All the generated code may name besides what it is bound to."""


def leaf_reader(leaves: Sequence[tuple[str, LeafPlan]]) -> LeafReader:
    """The reader of ``leaves``, each a response name and its plan, in the selection's order."""
    shape = tuple((plan.attribute if plan.read is getattr else None, _kind(plan)) for _, plan in leaves)
    factory = _factories.get(shape)
    if factory is None:
        factory = _generate(shape)
        if len(_factories) < MAX_SHAPES:
            _factories[shape] = factory
    bound: list[Any] = [NOT_PLAIN]
    for (response_name, plan), (attribute, kind) in zip(leaves, shape, strict=True):
        bound += [response_name, plan.complete]
        if attribute is None:
            bound += [plan.read, plan.attribute]
        if kind == "exact":
            bound.append(plan.exact)
        elif kind == "enum":
            bound += [plan.enum_class, plan.enum_names, _names_by_text(plan.leaf_type)]
    return factory(*bound)


def _names_by_text(enum_type: Any) -> dict[str, str]:
    """The GraphQL name the enum type answers for each of its values that is a ``str`` (the first
    name of a value, as graphql-core's own look-up keeps it)."""
    names: dict[str, str] = {}
    if isinstance(enum_type, GraphQLEnumType):
        for name, enum_value in enum_type.values.items():
            value = name if enum_value.value is None or enum_value.value is Undefined else enum_value.value
            if isinstance(value, str):
                names.setdefault(value, name)
    return names


def _kind(plan: LeafPlan) -> str:
    if plan.exact is not None:
        return "exact"
    if plan.enum_class is not None:
        return "enum"
    if plan.plain is int:
        return "int"
    return "other"


def _generate(shape: _Shape) -> Callable[..., LeafReader]:
    """A function taking the values the reader is bound to (in ``leaf_reader``'s order) and
    answering the reader."""
    parameters = ["not_plain"]
    body: list[str] = []
    for index, (attribute, kind) in enumerate(shape):
        parameters += [f"k{index}", f"c{index}"]
        if attribute is None:
            parameters += [f"r{index}", f"a{index}"]
            read = f"r{index}(source, a{index})"
        elif attribute.isascii() and attribute.isidentifier() and not keyword.iskeyword(attribute):
            read = f"source.{attribute}"
        else:
            read = f"getattr(source, {attribute!r})"
        if kind == "exact":
            parameters.append(f"t{index}")
        elif kind == "enum":
            parameters += [f"t{index}", f"n{index}", f"s{index}"]
        body += [f"v{index} = {read}", *_completion(kind, index)]
    output = ", ".join(f"k{index}: v{index}" for index in range(len(shape)))
    source = "\n".join(
        [
            f"def bind({', '.join(parameters)}):",
            "    def read(source, is_awaitable):",
            *(f"        {line}" for line in body),
            f"        return {{{output}}}",
            "    return read",
        ]
    )
    namespace: dict[str, Any] = {}
    code = compile(source, f"<leaf reader {len(shape)}>", "exec")
    exec(code, {"__builtins__": _BUILTINS}, namespace)  # noqa: S102  # code from the schema's names alone (module docstring)
    bound: Callable[..., LeafReader] = namespace["bind"]
    return bound


def _completion(kind: str, index: int) -> list[str]:
    """The lines that keep ``v{index}`` when it is its own output, complete it otherwise (as the
    leaf plan's ``complete`` does) and give up on a value that is not plain."""
    value = f"v{index}"
    complete = f"{value} = c{index}({value}, is_awaitable)"
    give_up = [f"if {value} is not_plain:", "    return None"]
    if kind == "other":
        return [complete, *give_up]
    if kind == "enum":
        return [
            f"if type({value}) is str:",
            f"    {value} = s{index}.get({value}, not_plain)",
            f"elif type({value}) is t{index}:",
            f"    {value} = n{index}.get({value}, not_plain)",
            "else:",
            f"    {complete}",
            *give_up,
        ]
    plain = (
        f"type({value}) is t{index}"
        if kind == "exact"
        else f"type({value}) is int and {_INT_MIN} <= {value} <= {_INT_MAX}"
    )
    return [f"if not ({plain}):", f"    {complete}", *(f"    {line}" for line in give_up)]
