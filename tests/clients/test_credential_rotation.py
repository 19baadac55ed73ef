"""Secret rotation without restart, against the real sandbox: file sources are re-read on
change, and a 401 right after a rotation reloads the credential's sources and replays once."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from clients.errors import UpstreamAuthFailed
from clients.upstreams import Upstreams
from tests.clients.support import route_count, started_with

CUSTOMERS = "GET /v1/customers"
USERS = "GET /v1/users"
TOKEN = "POST /oauth/token"
GRAPHQL = "POST /graphql"


def next_value(value: str) -> str:
    """Another value of the same length that keeps the canary (which sits at the end)."""
    return ("R" if value[0] != "R" else "S") + value[1:]


def rewrite_unnoticed(path: Path, value: str) -> None:
    """Rewrite in place keeping inode, size and mtime: what a coarse-mtime filesystem can look like."""
    before = path.stat()
    path.write_text(value, encoding="utf-8")
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = path.stat()
    assert (after.st_ino, after.st_size, after.st_mtime_ns) == (before.st_ino, before.st_size, before.st_mtime_ns)


@dataclass
class FileCredentials:
    """The harness credentials written to files the gateway's settings point at."""

    directory: Path

    def write(self, name: str, value: str) -> dict[str, Any]:
        path = self.directory / name
        path.write_text(value, encoding="utf-8")
        return {"value": None, "file": str(path)}

    def path(self, name: str) -> Path:
        return self.directory / name


@pytest.fixture
async def file_upstreams(sandbox: Any, tmp_path: Path) -> AsyncIterator[tuple[Upstreams, FileCredentials]]:
    files = FileCredentials(tmp_path)
    credentials = sandbox.credentials
    built = await started_with(
        sandbox.urls,
        credentials,
        identity={"auth": {"client_secret": files.write("client_secret", credentials.identity.client_secret)}},
        billing={
            "auth": {
                "api_key": files.write("api_key", credentials.billing.api_key),
                "signing_secret": files.write("signing_secret", credentials.billing.signing_secret),
            }
        },
        projects={"auth": {"token": files.write("projects_token", credentials.projects.token)}},
    )
    try:
        yield built, files
    finally:
        await built.close()


async def test_a_rewritten_api_key_file_is_used_by_the_next_request(
    sandbox: Any, file_upstreams: tuple[Upstreams, FileCredentials]
) -> None:
    upstreams, files = file_upstreams
    assert await upstreams.billing.customer_for_org("org-1") is not None
    rotated = next_value(sandbox.credentials.billing.api_key) + "-v2"
    await sandbox.rotate("billing", "api_key", rotated)  # no overlap: the old key stops working now
    files.path("api_key").write_text(rotated, encoding="utf-8")

    assert await upstreams.billing.customer_for_org("org-1") is not None

    keys = await sandbox.key_stats("billing", "api_key")
    assert keys["accepted"] == {"k1": 1, "k2": 1}
    assert keys["rejected"] == 0, "the rewrite was noticed before sending, nothing was refused"


async def test_an_unnoticed_api_key_rotation_is_reloaded_on_401_and_replayed_once(
    sandbox: Any, file_upstreams: tuple[Upstreams, FileCredentials]
) -> None:
    upstreams, files = file_upstreams
    assert await upstreams.billing.customer_for_org("org-1") is not None
    rotated = next_value(sandbox.credentials.billing.api_key)
    await sandbox.rotate("billing", "api_key", rotated)
    rewrite_unnoticed(files.path("api_key"), rotated)

    assert await upstreams.billing.customer_for_org("org-1") is not None

    assert await route_count(sandbox, "billing", CUSTOMERS) == 3  # first call, the refusal, its replay
    keys = await sandbox.key_stats("billing", "api_key")
    assert keys["accepted"] == {"k1": 1, "k2": 1}
    assert keys["rejected"] == 1


async def test_an_unnoticed_signing_secret_rotation_is_reloaded_on_401_and_replayed_once(
    sandbox: Any, file_upstreams: tuple[Upstreams, FileCredentials]
) -> None:
    upstreams, files = file_upstreams
    assert await upstreams.billing.customer_for_org("org-1") is not None
    rotated = next_value(sandbox.credentials.billing.signing_secret)
    await sandbox.rotate("billing", "signing_secret", rotated)
    rewrite_unnoticed(files.path("signing_secret"), rotated)

    assert await upstreams.billing.customer_for_org("org-1") is not None

    assert await route_count(sandbox, "billing", CUSTOMERS) == 3
    secrets = await sandbox.key_stats("billing", "signing_secret")
    assert secrets["accepted"] == {"k1": 1, "k2": 1}
    assert secrets["rejected"] == 1


async def test_an_unnoticed_client_secret_rotation_is_reloaded_when_the_token_endpoint_refuses(
    sandbox: Any, file_upstreams: tuple[Upstreams, FileCredentials]
) -> None:
    upstreams, files = file_upstreams
    assert await upstreams.identity.users_by_ids(["user-1"])
    rotated = next_value(sandbox.credentials.identity.client_secret)
    await sandbox.rotate("identity", "client_secret", rotated)
    await sandbox.admin("identity", "revoke-tokens")
    rewrite_unnoticed(files.path("client_secret"), rotated)

    assert set(await upstreams.identity.users_by_ids(["user-2"])) == {"user-2"}

    assert await route_count(sandbox, "identity", TOKEN) == 3  # first token, the refused one, the retry
    assert await route_count(sandbox, "identity", USERS) == 3  # first call, the refusal, its replay
    secrets = await sandbox.key_stats("identity", "client_secret")
    assert secrets["accepted"] == {"k1": 1, "k2": 1}
    assert secrets["rejected"] == 1


async def test_an_unnoticed_projects_token_rotation_is_reloaded_on_401_and_replayed_once(
    sandbox: Any, file_upstreams: tuple[Upstreams, FileCredentials]
) -> None:
    upstreams, files = file_upstreams
    assert await upstreams.projects.projects_by_ids(["proj-1"])
    rotated = next_value(sandbox.credentials.projects.token)
    await sandbox.rotate("projects", "token", rotated)
    rewrite_unnoticed(files.path("projects_token"), rotated)

    assert await upstreams.projects.projects_by_ids(["proj-1"])

    assert await route_count(sandbox, "projects", GRAPHQL) == 3
    assert (await sandbox.key_stats("projects", "token"))["accepted"] == {"k1": 1, "k2": 1}


async def test_a_401_with_unchanged_credentials_is_not_replayed(
    sandbox: Any, file_upstreams: tuple[Upstreams, FileCredentials]
) -> None:
    upstreams, _ = file_upstreams
    await sandbox.rotate("billing", "api_key", next_value(sandbox.credentials.billing.api_key))

    with pytest.raises(UpstreamAuthFailed) as caught:
        await upstreams.billing.customer_for_org("org-1")

    assert await route_count(sandbox, "billing", CUSTOMERS) == 1
    assert caught.value.code == "UPSTREAM_AUTH_FAILED"


async def test_during_an_overlap_both_keys_work_and_after_it_only_the_new_one(
    sandbox: Any, file_upstreams: tuple[Upstreams, FileCredentials]
) -> None:
    upstreams, files = file_upstreams
    old = sandbox.credentials.billing.api_key
    rotated = next_value(old)
    await sandbox.rotate("billing", "api_key", rotated, overlap_s=300)
    assert await upstreams.billing.customer_for_org("org-1") is not None  # still the old key

    files.path("api_key").write_text(rotated + "\n", encoding="utf-8")
    await sandbox.admin("billing", "end-overlap", {"credential": "api_key"})
    assert await upstreams.billing.customer_for_org("org-1") is not None

    keys = await sandbox.key_stats("billing", "api_key")
    assert keys["accepted"] == {"k1": 1, "k2": 1}
    assert keys["active"] == ["k2"]


async def test_a_missing_secret_file_is_an_auth_failure_that_names_no_value(
    sandbox: Any, file_upstreams: tuple[Upstreams, FileCredentials]
) -> None:
    upstreams, files = file_upstreams
    files.path("api_key").unlink()

    with pytest.raises(UpstreamAuthFailed) as caught:
        await upstreams.billing.customer_for_org("org-1")

    assert caught.value.message == "credential source unavailable"
    assert await route_count(sandbox, "billing", CUSTOMERS) == 0
