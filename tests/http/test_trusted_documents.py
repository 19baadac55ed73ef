"""Trusted documents: only the operations of a hash-addressed manifest run, by id (Apollo's
persisted queries, GraphQL over HTTP's ``documentId``) or as a text the manifest holds; the file
is re-read when it changes, and while it cannot be used readiness says why."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest
from harness import GatewayServer, Sandbox
from http_support import GRAPHQL_RESPONSE, JSON, Endpoint, SandboxServerInfo, serving, settings_for

from mobius.persisted import ManifestError, parse_manifest

USER = 'query User { user(id: "user-1") { id } }'
TYPENAME = "query Typename { __typename }"
CLOSE = 'mutation Close { closeIssue(id: "issue-1") { id } }'
LATER = 'query Later { user(id: "user-2") { id } }'


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def apollo_manifest(*documents: str) -> bytes:
    operations = [{"id": sha(body), "body": body, "name": "op", "type": "query"} for body in documents]
    return orjson.dumps({"format": "apollo-persisted-query-manifest", "version": 1, "operations": operations})


def write(path: Path, content: bytes) -> None:
    """Atomically, as deployments do (a new file renamed over the old one)."""
    staged = path.with_suffix(".staged")
    staged.write_bytes(content)
    os.replace(staged, path)


@pytest.fixture(scope="module")
def manifest(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("trusted") / "persisted-query-manifest.json"
    write(path, apollo_manifest(USER, TYPENAME, CLOSE))
    return path


@pytest.fixture(scope="module")
def trusted(sandbox_server: SandboxServerInfo, manifest: Path) -> Iterator[GatewayServer]:
    with serving(settings_for(sandbox_server, graphql={"trusted_documents": {"manifest": str(manifest)}})) as server:
        yield server


@pytest.fixture
async def endpoint_(trusted: GatewayServer, http: aiohttp.ClientSession, manifest: Path) -> Endpoint:
    """The trusted gateway, its manifest (re)written with USER, TYPENAME and CLOSE and read."""
    write(manifest, apollo_manifest(USER, TYPENAME, CLOSE))
    endpoint = Endpoint(trusted.url, http)
    assert (await endpoint.post({"query": TYPENAME})).status == 200
    return endpoint


def persisted_query(text: str) -> dict[str, Any]:
    return {"version": 1, "sha256Hash": sha(text)}


async def test_registered_operations_run_by_id_in_every_form(endpoint_: Endpoint) -> None:
    replies = [
        await endpoint_.post({"documentId": f"sha256:{sha(USER)}"}),
        await endpoint_.post({"extensions": {"persistedQuery": persisted_query(USER)}}),
        await endpoint_.get({"documentId": f"sha256:{sha(USER)}"}),
        await endpoint_.get({"extensions": orjson.dumps({"persistedQuery": persisted_query(USER)}).decode()}),
        await endpoint_.post({"query": USER}),
        await endpoint_.post({"query": USER, "documentId": sha(USER)}),
    ]

    assert [reply.json for reply in replies] == [{"data": {"user": {"id": "user-1"}}}] * len(replies)


@pytest.mark.parametrize("accept", [GRAPHQL_RESPONSE, JSON])
async def test_anything_else_is_refused_before_it_reaches_an_upstream(
    endpoint_: Endpoint, sandbox: Sandbox, accept: str
) -> None:
    unlisted_text = await endpoint_.post({"query": LATER}, accept=accept)
    unknown_id = await endpoint_.post({"documentId": f"sha256:{sha(LATER)}"}, accept=accept)
    apq_registration = await endpoint_.post(
        {"query": LATER, "extensions": {"persistedQuery": persisted_query(LATER)}}, accept=accept
    )
    mismatch = await endpoint_.post({"query": LATER, "documentId": f"sha256:{sha(USER)}"}, accept=accept)

    status = 400 if accept == GRAPHQL_RESPONSE else 200
    assert [(reply.status, reply.codes) for reply in (unlisted_text, unknown_id, apq_registration, mismatch)] == [
        (status, ["QUERY_NOT_IN_SAFELIST"]),
        (status, ["PERSISTED_QUERY_NOT_IN_LIST"]),
        (status, ["PERSISTED_QUERY_NOT_IN_LIST"]),
        (status, ["PERSISTED_QUERY_HASH_MISMATCH"]),
    ]
    assert sum((await sandbox.api_requests()).values()) == 0


async def test_a_registered_mutation_still_needs_post(endpoint_: Endpoint) -> None:
    reply = await endpoint_.get({"documentId": f"sha256:{sha(CLOSE)}"})

    assert (reply.status, reply.headers["allow"]) == (405, "POST")


async def test_a_changed_manifest_is_used_without_a_restart(endpoint_: Endpoint, manifest: Path) -> None:
    before = await endpoint_.post({"documentId": f"sha256:{sha(LATER)}"})
    write(manifest, apollo_manifest(LATER))
    added = await endpoint_.post({"documentId": f"sha256:{sha(LATER)}"})
    removed = await endpoint_.post({"documentId": f"sha256:{sha(USER)}"})

    assert before.codes == ["PERSISTED_QUERY_NOT_IN_LIST"]
    assert added.json == {"data": {"user": {"id": "user-2"}}}
    assert removed.codes == ["PERSISTED_QUERY_NOT_IN_LIST"]


async def test_a_broken_manifest_keeps_the_last_good_one_and_readiness_says_why(
    endpoint_: Endpoint, manifest: Path
) -> None:
    write(manifest, b'{"format": "apollo-persisted-query-manifest", "operations": [')
    still_served = await endpoint_.post({"documentId": f"sha256:{sha(USER)}"})
    not_ready = await endpoint_.request("GET", path="/health/ready")
    write(manifest, apollo_manifest(USER, LATER))
    ready = await endpoint_.request("GET", path="/health/ready")

    assert still_served.json == {"data": {"user": {"id": "user-1"}}}
    assert not_ready.status == 503
    assert not_ready.json["problems"] == {"graphql.trusted_documents.manifest": "not JSON (unexpected end of data)"}
    assert ready.status == 200
    assert (await endpoint_.post({"query": LATER})).json == {"data": {"user": {"id": "user-2"}}}


@pytest.fixture(scope="module")
def ids_only(sandbox_server: SandboxServerInfo, tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayServer]:
    path = tmp_path_factory.mktemp("codegen") / "persisted-documents.json"
    path.write_bytes(orjson.dumps({f"sha256:{sha(USER)}": USER, sha(TYPENAME): TYPENAME}))
    settings = settings_for(sandbox_server, graphql={"trusted_documents": {"manifest": str(path), "require_id": True}})
    with serving(settings) as server:
        yield server


async def test_codegens_manifest_with_ids_required(ids_only: GatewayServer, http: aiohttp.ClientSession) -> None:
    endpoint = Endpoint(ids_only.url, http)

    by_id = await endpoint.post({"documentId": f"sha256:{sha(USER)}"})
    by_bare_id = await endpoint.post({"documentId": sha(TYPENAME)})
    as_text = await endpoint.post({"query": USER})

    assert by_id.json == {"data": {"user": {"id": "user-1"}}}
    assert by_bare_id.json == {"data": {"__typename": "Query"}}
    assert as_text.codes == ["PERSISTED_QUERY_ID_REQUIRED"]


@pytest.fixture(scope="module")
def missing_manifest(
    sandbox_server: SandboxServerInfo, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[GatewayServer, Path]]:
    path = tmp_path_factory.mktemp("missing") / "manifest.json"
    with serving(settings_for(sandbox_server, graphql={"trusted_documents": {"manifest": str(path)}})) as server:
        yield server, path


async def test_without_a_readable_manifest_nothing_runs_and_the_gateway_is_not_ready(
    missing_manifest: tuple[GatewayServer, Path], http: aiohttp.ClientSession
) -> None:
    server, path = missing_manifest
    endpoint = Endpoint(server.url, http)

    refused = await endpoint.post({"query": TYPENAME})
    not_ready = await endpoint.request("GET", path="/health/ready")
    path.write_bytes(apollo_manifest(TYPENAME))
    served = await endpoint.post({"query": TYPENAME})
    ready = await endpoint.request("GET", path="/health/ready")

    assert refused.codes == ["QUERY_NOT_IN_SAFELIST"]
    assert (not_ready.status, not_ready.json["problems"]) == (
        503,
        {"graphql.trusted_documents.manifest": "cannot be read (FileNotFoundError)"},
    )
    assert served.json == {"data": {"__typename": "Query"}}
    assert ready.status == 200


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (orjson.dumps({f"sha256:{sha(USER)}": TYPENAME}), "entry 0 (sha256:"),
        (orjson.dumps({"md5:abc": USER}), "entry 0: the id is not a sha256 digest"),
        (orjson.dumps({sha(USER): 7}), "entry 0: no document text"),
        (orjson.dumps([USER]), "the manifest must be a JSON object"),
        (orjson.dumps({"format": "other", "operations": []}), "unknown manifest format"),
        (orjson.dumps({"format": "apollo-persisted-query-manifest", "operations": [{"id": sha(USER)}]}), "entry 0"),
    ],
)
def test_a_manifest_whose_entries_do_not_hash_to_their_ids_is_refused(content: bytes, problem: str) -> None:
    with pytest.raises(ManifestError) as refused:
        parse_manifest(content)
    assert problem in str(refused.value)
    assert USER not in str(refused.value)


def test_both_manifest_formats_read_to_the_same_documents() -> None:
    codegen = orjson.dumps({f"sha256:{sha(USER)}": USER, sha(TYPENAME).upper(): TYPENAME})
    assert parse_manifest(apollo_manifest(USER, TYPENAME)) == parse_manifest(codegen)
