"""The documents the gateway sends the projects upstream are built from the SDL it ships
(``clients/projects.graphql``) and must be valid there and on the upstream itself (the sandbox)."""

from __future__ import annotations

import pytest
from graphql import DocumentNode, GraphQLSchema, print_ast, validate

from clients import projects_documents as documents
from sandbox.projects_schema import build_projects_schema

DOCUMENTS = {
    "one page": documents.projects_document((0,)),
    "pages with nested issue pages": documents.projects_document((0, 2, 1)),
    "issue pages": documents.issues_document(3),
    "project nodes": documents.NODES_DOCUMENT,
    "create issue": documents.CREATE_ISSUE,
    "close issue": documents.CLOSE_ISSUE,
}
SCHEMAS = {"shipped": documents.UPSTREAM_SCHEMA, "upstream": build_projects_schema()}


@pytest.mark.parametrize("document", DOCUMENTS.values(), ids=DOCUMENTS.keys())
@pytest.mark.parametrize("schema", SCHEMAS.values(), ids=SCHEMAS.keys())
def test_every_upstream_document_is_valid_against_the_shipped_and_the_real_schema(
    document: DocumentNode, schema: GraphQLSchema
) -> None:
    assert validate(schema, document) == []


def test_each_key_of_a_merged_page_request_has_its_own_alias_and_variables() -> None:
    text = print_ast(documents.projects_document((0, 1)))

    assert "k0: projects(orgId: $o0, first: $f0, after: $a0)" in text
    assert "k1: projects(orgId: $o1, first: $f1, after: $a1)" in text
    assert "i0: issues(first: $f1_0, after: $a1_0, state: $s1_0)" in text
    assert text.count("issues(") == 1, "only the key that asks for issues selects them"
