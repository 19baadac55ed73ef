"""What ``schema/plans.py`` and ``schema/streamline.py`` read from Strawberry's field definitions, each
pinned by a test named after it (see ``test_executor_internals_pins``)."""

from __future__ import annotations

import dataclasses

from executor_internals_support import (
    ROOT,
    SCHEMA,
    Shade,
    built_executor,
    graphql_schema,
    root_fields,
    type_named,
)
from graphql import (
    GraphQLNonNull,
)
from graphql.execution.executor import to_nodes
from graphql.pyutils import Path
from strawberry.relay import GlobalID
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.base import StrawberryList, StrawberryMaybe, StrawberryOptional
from strawberry.types.field import StrawberryField
from strawberry.types.info import Info


def test_each_graphql_field_carries_its_strawberry_field_under_the_definition_backref() -> None:
    query_type = type_named("Query")
    sized = query_type.fields["sized"].extensions[GraphQLCoreConverter.DEFINITION_BACKREF]
    leaves = query_type.fields["leaves"].extensions[GraphQLCoreConverter.DEFINITION_BACKREF]
    assert isinstance(sized, StrawberryField)
    assert isinstance(leaves, StrawberryField)
    assert leaves.is_basic_field
    assert not sized.is_basic_field
    assert leaves.python_name == "leaves"
    assert leaves.default_resolver(ROOT, leaves.python_name) is ROOT.leaves
    assert all(field.resolve is not None for field in query_type.fields.values())


def test_the_graphql_schema_links_back_to_its_strawberry_schema_and_exception_handlers() -> None:
    assert graphql_schema()._strawberry_schema is SCHEMA  # type: ignore[attr-defined]
    assert not SCHEMA.exception_handlers


def test_strawberry_enum_types_keep_their_python_enum_and_values() -> None:
    shade = graphql_schema().type_map["Shade"]
    assert shade.wrapped_cls is Shade  # type: ignore[attr-defined]
    assert {name: value.value for name, value in shade.values.items()} == {"LIGHT": "light", "DARK": "dark"}  # type: ignore[attr-defined]


def test_resolvers_expose_their_function_self_info_and_arguments_as_streamline_reads_them() -> None:
    definition = type_named("Query").fields["sized"].extensions[GraphQLCoreConverter.DEFINITION_BACKREF]
    resolver = definition.base_resolver
    assert callable(resolver.wrapped_func)
    assert resolver.self_parameter.name == "self"
    assert resolver.info_parameter.name == "info"
    assert list(resolver.signature.parameters) == ["self", "info", "size", "tags"]
    assert not definition.extensions
    size, tags = definition.arguments
    assert (size.python_name, size.type) == ("size", int)
    assert SCHEMA.config.name_converter.from_argument(tags) == "tags"
    assert isinstance(tags.type, StrawberryOptional)
    assert isinstance(tags.type.of_type, StrawberryList)
    assert tags.type.of_type.of_type is str
    assert isinstance(StrawberryMaybe, type)
    assert isinstance(GlobalID, type)


def test_the_info_class_is_built_from_the_raw_info_and_the_field() -> None:
    executor = built_executor()
    field_def = type_named("Query").fields["sized"]
    raw = executor.build_resolve_info(
        field_def, to_nodes(root_fields(executor)["sized"]), type_named("Query"), Path(None, "sized", "Query")
    )
    definition = field_def.extensions[GraphQLCoreConverter.DEFINITION_BACKREF]
    info = SCHEMA.config.info_class(_raw_info=raw, _field=definition)
    assert info.field_name == "sized"
    assert info.path.as_list() == ["sized"]
    assert info.schema is SCHEMA
    # schema/streamline.py fills Strawberry's Info in without its __init__: a dataclass of exactly these
    assert [field.name for field in dataclasses.fields(Info)] == ["_raw_info", "_field"]
    assert not hasattr(Info, "__post_init__")
    assert vars(info) == {"_raw_info": raw, "_field": definition}


def test_a_non_null_field_type_wraps_the_type_the_plans_unwrap() -> None:
    sure = type_named("Query").fields["sure"].type
    assert isinstance(sure, GraphQLNonNull)
    assert sure.of_type is type_named("Leaf")
