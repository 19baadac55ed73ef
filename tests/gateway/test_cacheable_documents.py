"""Which documents the response cache may store: queries without live fields, nothing else."""

from __future__ import annotations

import pytest
from graphql import build_schema

from resolvers.cache import CacheableDocuments
from schema.root import LIVE_FIELDS
from schema.root import build_schema as build_gateway_schema

CACHEABLE = CacheableDocuments(build_gateway_schema()._schema, live_fields=LIVE_FIELDS, max_tokens=5000, size=4)


@pytest.mark.parametrize(
    ("query", "operation_name", "expected"),
    [
        ('{ user(id: "u-1") { name } }', None, True),
        ("{ __typename }", None, True),
        ("{ upstreams { name } }", None, False),
        ("{ cacheStats { enabled } }", None, False),
        ("query { ...F } fragment F on Query { cacheStats { enabled } }", None, False),
        ("{ ... on Query { upstreams { name } } }", None, False),
        ('mutation { closeIssue(id: "i-1") { id } }', None, False),
        ("subscription { __typename }", None, False),
        ("query A { __typename } query B { upstreams { name } }", "A", False),
        ("query A { __typename } query B { __typename }", None, False),
        ("query A { __typename }", "Nope", False),
        ("{ user(id: ", None, False),
    ],
    ids=[
        "query",
        "typename",
        "upstreams",
        "cache-stats",
        "live-in-fragment",
        "live-in-inline-fragment",
        "mutation",
        "subscription",
        "live-in-a-sibling-operation",
        "ambiguous",
        "unknown-operation",
        "syntax-error",
    ],
)
def test_only_queries_without_live_fields_are_cacheable(query: str, operation_name: str | None, expected: bool) -> None:
    assert CACHEABLE(query, operation_name) is expected


def test_a_document_over_the_token_limit_is_not_parsed_here() -> None:
    cacheable = CacheableDocuments(build_gateway_schema()._schema, live_fields=LIVE_FIELDS, max_tokens=10)
    assert cacheable("{ __typename }", None)
    assert not cacheable(" ".join(["{ __typename }"] * 5), None)


def test_the_live_fields_are_fields_of_the_schema() -> None:
    assert {"Query.upstreams", "Query.cacheStats"} <= LIVE_FIELDS
    with pytest.raises(ValueError, match=r"Query\.upstreams"):
        CacheableDocuments(build_schema("type Query { cacheStats: Int }"), live_fields=LIVE_FIELDS, max_tokens=100)


def test_every_root_field_is_either_built_from_the_entity_cache_or_declared_live() -> None:
    """A new root field must be classified: read through the loaders (cacheable) or listed in
    ``LIVE_FIELDS``."""
    built_from_cached_entities = {"viewer", "organization", "user", "users", "project", "_entities", "_service"}
    query_type = build_gateway_schema()._schema.query_type
    assert query_type is not None
    live = {coordinate.partition(".")[2] for coordinate in LIVE_FIELDS if coordinate.startswith("Query.")}
    assert set(query_type.fields) == built_from_cached_entities | live
