"""`mobius schema print` is the schema clients see by introspection."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from graphql import (
    GraphQLSchema,
    build_ast_schema,
    build_client_schema,
    get_introspection_query,
    lexicographic_sort_schema,
    parse,
    print_type,
)
from harness import Gateway


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603  (our own CLI, fixed arguments)
        [sys.executable, "-m", "mobius.cli", *args], capture_output=True, text=True, timeout=60, check=False
    )


def types_of(schema: GraphQLSchema) -> dict[str, str]:
    """Each named type's SDL, introspection types left out."""
    ordered = lexicographic_sort_schema(schema)
    return {name: print_type(t) for name, t in ordered.type_map.items() if not name.startswith("__")}


async def test_schema_print_equals_the_introspected_schema(gateway: Gateway) -> None:
    printed = run_cli("schema", "print")
    assert printed.returncode == 0, printed.stderr

    introspection = await gateway.query(get_introspection_query(descriptions=True))
    served = types_of(build_client_schema(introspection["data"]))
    from_cli = types_of(build_ast_schema(parse(printed.stdout), assume_valid_sdl=True))

    assert from_cli == {name: sdl for name, sdl in served.items() if name in from_cli}
    only_served = set(served) - set(from_cli)
    assert all(name.startswith(("link__", "federation__", "_FieldSet")) for name in only_served), only_served
    assert "type Query" in printed.stdout
    assert '@key(fields: "id")' in printed.stdout


async def test_schema_print_and_the_subgraph_sdl_show_the_authorization_rules(gateway: Gateway) -> None:
    printed = run_cli("schema", "print")
    assert printed.returncode == 0, printed.stderr
    sdl = printed.stdout
    assert (await gateway.query("{ _service { sdl } }"))["data"]["_service"]["sdl"].strip() == sdl.strip()

    federation_link = sdl.split('@link(url: "https://specs.apollo.dev/federation/v2.7", import: ')[1].split(")")[0]
    assert '"@authenticated"' in federation_link
    assert '"@requiresScopes"' in federation_link
    assert '@composeDirective(name: "@inputRequiresScopes")' in sdl
    for field, scope in (
        ("updateUser(id: ID!, input: UpdateUserInput!, ifMatch: String!): User!", "users:write"),
        ("payInvoice(id: ID!, idempotencyKey: String!): Invoice!", "billing:write"),
        ("createIssue(projectId: ID!, title: String!): Issue!", "issues:write"),
        ("closeIssue(id: ID!): Issue!", "issues:write"),
    ):
        assert f'{field} @authenticated @requiresScopes(scopes: [["{scope}"]])' in sdl
    assert 'email: String @requiresScopes(scopes: [["pii:read"]])' in sdl
    assert 'phone: String @requiresScopes(scopes: [["pii:read"]])' in sdl
    assert 'phone: String = null @inputRequiresScopes(scopes: [["pii:write"]])' in sdl


def test_bad_config_names_the_key_and_exits_2(tmp_path: Path) -> None:
    config = tmp_path / "mobius.yaml"
    config.write_text(
        "upstreams:\n  identity: {base_url: http://x}\n  billing: {base_url: http://x, pool_size: many}\n"
    )
    result = run_cli("serve", "--config", str(config))
    assert result.returncode == 2
    assert "upstreams.billing.pool_size" in result.stderr
    assert "upstreams.projects" in result.stderr
    assert "Traceback" not in result.stderr
