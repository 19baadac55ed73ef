"""The identity upstream over HTTP: OAuth2 client credentials, batch reads, paging, ETags."""

from __future__ import annotations

import base64

import aiohttp
from canary import CANARY_CREDENTIALS

from sandbox import SandboxUrls

CREDS = CANARY_CREDENTIALS


def _basic(client_id: str, secret: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()}


async def test_token_with_client_secret_basic(urls: SandboxUrls, http: aiohttp.ClientSession) -> None:
    form = {"grant_type": "client_credentials", "scope": "users:read pii"}
    headers = _basic(CREDS.identity.client_id, CREDS.identity.client_secret)
    async with http.post(f"{urls.identity}/oauth/token", data=form, headers=headers) as response:
        body = await response.json()
    assert response.status == 200
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == CREDS.identity.token_lifetime_s
    assert body["scope"] == "users:read pii"
    assert body["access_token"]


async def test_token_with_client_secret_post_then_api_call(
    urls: SandboxUrls, http: aiohttp.ClientSession, identity_headers: dict[str, str]
) -> None:
    async with http.get(f"{urls.identity}/v1/users/user-1", headers=identity_headers) as response:
        user = await response.json()
    assert response.status == 200
    assert response.headers["ETag"] == f'"{user["etag"]}"'
    assert set(user) == {"id", "org_id", "name", "email", "phone", "updated_at", "etag"}


async def test_bad_client_secret_is_invalid_client(urls: SandboxUrls, http: aiohttp.ClientSession) -> None:
    form = {"grant_type": "client_credentials"}
    headers = _basic(CREDS.identity.client_id, "wrong")
    async with http.post(f"{urls.identity}/oauth/token", data=form, headers=headers) as response:
        assert response.status == 401
        assert (await response.json())["error"] == "invalid_client"


async def test_unsupported_grant_type(urls: SandboxUrls, http: aiohttp.ClientSession) -> None:
    headers = _basic(CREDS.identity.client_id, CREDS.identity.client_secret)
    async with http.post(f"{urls.identity}/oauth/token", data={"grant_type": "password"}, headers=headers) as response:
        assert response.status == 400
        assert (await response.json())["error"] == "unsupported_grant_type"


async def test_api_without_or_with_unknown_token_is_401(urls: SandboxUrls, http: aiohttp.ClientSession) -> None:
    for headers in ({}, {"Authorization": "Bearer not-issued"}):
        async with http.get(f"{urls.identity}/v1/users/user-1", headers=headers) as response:
            assert response.status == 401
            assert response.headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'
            assert (await response.json())["error"]["code"] == "unauthorized"


async def test_revoked_tokens_are_rejected(
    urls: SandboxUrls, http: aiohttp.ClientSession, identity_headers: dict[str, str]
) -> None:
    async with http.post(f"{urls.identity}/_sandbox/revoke-tokens") as response:
        assert (await response.json())["revoked"] >= 1
    async with http.get(f"{urls.identity}/v1/users/user-1", headers=identity_headers) as response:
        assert response.status == 401


async def test_batch_users_keep_request_order_and_omit_missing(
    urls: SandboxUrls, http: aiohttp.ClientSession, identity_headers: dict[str, str]
) -> None:
    url = f"{urls.identity}/v1/users?ids=user-30,user-nope,user-2,user-1000"
    async with http.get(url, headers=identity_headers) as response:
        body = await response.json()
    assert [u["id"] for u in body["data"]] == ["user-30", "user-2", "user-1000"]


async def test_batch_limits(urls: SandboxUrls, http: aiohttp.ClientSession, identity_headers: dict[str, str]) -> None:
    too_many = ",".join(f"user-{n}" for n in range(1, 102))
    async with http.get(f"{urls.identity}/v1/users?ids={too_many}", headers=identity_headers) as response:
        assert response.status == 400
        assert (await response.json())["error"]["code"] == "too_many_ids"
    exactly_100 = ",".join(f"org-{n}" for n in range(1, 101))
    async with http.get(f"{urls.identity}/v1/orgs?ids={exactly_100}", headers=identity_headers) as response:
        assert len((await response.json())["data"]) == 100
    for query in ("", "?ids=", "?ids=,"):
        async with http.get(f"{urls.identity}/v1/users{query}", headers=identity_headers) as response:
            assert response.status == 400


async def test_org_and_unknown_ids(
    urls: SandboxUrls, http: aiohttp.ClientSession, identity_headers: dict[str, str]
) -> None:
    async with http.get(f"{urls.identity}/v1/orgs/org-1", headers=identity_headers) as response:
        org = await response.json()
    assert org["member_count"] == 80
    assert set(org) == {"id", "name", "slug", "member_count", "created_at"}
    for path in ("/v1/orgs/org-999", "/v1/users/user-0", "/v1/orgs/org-999/members"):
        async with http.get(f"{urls.identity}{path}", headers=identity_headers) as response:
            assert response.status == 404
            assert (await response.json())["error"]["code"] == "not_found"


async def test_members_pages_in_numeric_id_order(
    urls: SandboxUrls, http: aiohttp.ClientSession, identity_headers: dict[str, str]
) -> None:
    base = f"{urls.identity}/v1/orgs/org-1/members"
    async with http.get(base, headers=identity_headers) as response:
        first = await response.json()
    assert len(first["data"]) == 50
    assert first["total_count"] == 80
    assert first["next_cursor"]
    async with http.get(base, params={"cursor": first["next_cursor"]}, headers=identity_headers) as response:
        second = await response.json()
    assert len(second["data"]) == 30
    assert second["next_cursor"] is None
    numbers = [int(u["id"].removeprefix("user-")) for u in first["data"] + second["data"]]
    assert numbers == sorted(numbers)
    assert all(u["org_id"] == "org-1" for u in first["data"])


async def test_members_reject_bad_limit_and_cursor(
    urls: SandboxUrls, http: aiohttp.ClientSession, identity_headers: dict[str, str]
) -> None:
    base = f"{urls.identity}/v1/orgs/org-1/members"
    for params in ({"limit": "101"}, {"limit": "0"}, {"limit": "x"}, {"cursor": "garbage!"}):
        async with http.get(base, params=params, headers=identity_headers) as response:
            assert response.status == 400, params


async def test_members_refuse_numbers_int_cannot_read_as_a_client_error(
    urls: SandboxUrls, http: aiohttp.ClientSession, identity_headers: dict[str, str]
) -> None:
    base = f"{urls.identity}/v1/orgs/org-1/members"
    cursors = [base64.urlsafe_b64encode(f"offset:{value}".encode()).decode() for value in ("\u00b2", "9" * 5000)]
    for params in ({"limit": "\u00b2"}, {"limit": "1" * 5000}, *({"cursor": cursor} for cursor in cursors)):
        async with http.get(base, params=params, headers=identity_headers) as response:
            assert response.status == 400, params


async def test_patch_requires_a_current_etag(
    fresh_sandbox: SandboxUrls, http: aiohttp.ClientSession, identity_headers: dict[str, str]
) -> None:
    url = f"{fresh_sandbox.identity}/v1/users/user-7"
    async with http.get(url, headers=identity_headers) as response:
        etag = response.headers["ETag"]
    async with http.patch(url, json={"name": "New Name"}, headers=identity_headers) as response:
        assert response.status == 428
    async with http.patch(
        url, json={"name": "New Name"}, headers={**identity_headers, "If-Match": '"stale"'}
    ) as response:
        assert response.status == 412
        assert (await response.json())["error"]["code"] == "precondition_failed"
    headers = {**identity_headers, "If-Match": etag}
    async with http.patch(url, json={"name": "New Name", "phone": "+1-555-000-0000"}, headers=headers) as response:
        updated = await response.json()
    assert response.status == 200
    assert (updated["name"], updated["phone"]) == ("New Name", "+1-555-000-0000")
    assert response.headers["ETag"] == f'"{updated["etag"]}"' != etag
    async with http.patch(url, json={"name": "Again"}, headers=headers) as response:
        assert response.status == 412
    async with http.patch(url, json={"email": "x@y"}, headers={**identity_headers, "If-Match": "*"}) as response:
        assert response.status == 400
