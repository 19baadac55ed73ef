"""identity: users and organizations (REST, OAuth2 client credentials).

Users, organizations and page keys hold only scalars, so they are ``gc=False`` msgspec Structs
(see ``clients.projects``)."""

from __future__ import annotations

from collections.abc import Awaitable, Sequence
from datetime import datetime
from typing import Literal

import msgspec

from clients.codec import StructCodec
from clients.declaration import (
    EventFields,
    Prime,
    Read,
    Touched,
    Upstream,
    Vendor,
    Webhook,
    WebhookEvent,
    by_ids,
    fan_out,
)
from clients.errors import UpstreamStatusError
from clients.rest import RestClient
from clients.webhooks import Ident, Payload, Timestamp, Version, read_body


class IdentityUser(msgspec.Struct, frozen=True, gc=False):
    id: str
    org_id: str
    name: str
    updated_at: datetime
    etag: str
    email: str | None = None
    phone: str | None = None


class IdentityOrg(msgspec.Struct, frozen=True, gc=False):
    id: str
    name: str
    slug: str | None = None
    member_count: int | None = None


class _UserList(msgspec.Struct, frozen=True):
    data: list[IdentityUser]


class _OrgList(msgspec.Struct, frozen=True):
    data: list[IdentityOrg]


class MembersPage(msgspec.Struct, frozen=True):
    data: list[IdentityUser]
    total_count: int
    next_cursor: str | None = None


_USERS = StructCodec(_UserList)
_ORGS = StructCodec(_OrgList)
_USER = StructCodec(IdentityUser)
_MEMBERS = StructCodec(MembersPage)


class IdentityClient:
    def __init__(self, rest: RestClient) -> None:
        self.rest = rest
        self.name = rest.name

    async def users_by_ids(self, ids: Sequence[str]) -> dict[str, IdentityUser]:
        page = await self.rest.get("/v1/users", _USERS, params={"ids": ",".join(ids)})
        return {user.id: user for user in page.data}

    async def orgs_by_ids(self, ids: Sequence[str]) -> dict[str, IdentityOrg]:
        page = await self.rest.get("/v1/orgs", _ORGS, params={"ids": ",".join(ids)})
        return {org.id: org for org in page.data}

    async def members(self, org_id: str, *, limit: int, cursor: str | None) -> MembersPage | None:
        params: dict[str, str | int] = {"limit": limit}
        if cursor:
            params["cursor"] = cursor
        try:
            return await self.rest.get("/v1/orgs/{org_id}/members", _MEMBERS, path={"org_id": org_id}, params=params)
        except UpstreamStatusError as exc:
            if exc.status == 404:
                return None
            raise

    async def update_user(self, user_id: str, *, changes: dict[str, str], if_match: str) -> IdentityUser:
        return await self.rest.call(
            "PATCH",
            "/v1/users/{user_id}",
            _USER,
            path={"user_id": user_id},
            json_body=changes,
            headers={"If-Match": f'"{if_match}"'},
        )


class MembersKey(msgspec.Struct, frozen=True, gc=False):
    org_id: str
    first: int
    after: str | None = None


def _members_page(client: IdentityClient, key: MembersKey) -> Awaitable[MembersPage | None]:
    return client.members(key.org_id, limit=key.first, cursor=key.after)


USERS: Read[IdentityClient, str, IdentityUser] = Read(
    name="users",
    codec=StructCodec(IdentityUser),
    fetch=by_ids(IdentityClient.users_by_ids),
    batch="by_ids",
    ttl_s=60.0,
    entity="User",
    tags=lambda _key, user: (f"org:{user.org_id}",),
)
ORGS: Read[IdentityClient, str, IdentityOrg] = Read(
    name="orgs",
    codec=StructCodec(IdentityOrg),
    fetch=by_ids(IdentityClient.orgs_by_ids),
    batch="by_ids",
    ttl_s=300.0,
    entity="Organization",
    tags=lambda key, _org: (f"org:{key}",),
)
MEMBERS: Read[IdentityClient, MembersKey, MembersPage] = Read(
    name="members",
    codec=StructCodec(MembersPage),
    fetch=fan_out(_members_page),
    batch="fan_out",
    pagination="cursor",
    ttl_s=60.0,
    key_parts=lambda key: (key.org_id, key.first, key.after),
    tags=lambda key, page: (f"org:{key.org_id}", *(f"User:{user.id}" for user in page.data)),
    primes=(Prime(read=USERS, items=lambda page: ((user.id, user) for user in page.data)),),
)
"""A page of an organization's members; its users prime ``users`` (and, fetched, refresh their entries)."""


class UserChange(Payload):
    id: Ident
    org_id: Ident
    version: Version


class IdentityWebhook(Payload):
    """GitHub-style: ``action`` (updated) on ``user``."""

    action: Literal["updated"]
    occurred_at: Timestamp
    user: UserChange


def parse_webhook(body: bytes) -> list[WebhookEvent]:
    hook = read_body(IdentityWebhook, body)
    user = hook.user
    return [
        WebhookEvent(
            type=f"user.{hook.action}",
            entity_type="User",
            entity_id=user.id,
            version=user.version,
            occurred_at=hook.occurred_at,
            data={"org_id": user.org_id},
        )
    ]


def webhook_touches(event: EventFields) -> Touched:
    """The user's entry and the member pages embedding it."""
    return Touched(entities=(f"User:{event.entity_id}",))


IDENTITY: Upstream[IdentityClient] = Upstream(name="identity", reads=(USERS, ORGS, MEMBERS))
IDENTITY_API: Vendor[IdentityClient] = Vendor(
    name="identity",
    serves=IDENTITY,
    protocol="rest",
    auth=("oauth2_client_credentials",),
    client=lambda http: IdentityClient(RestClient(http)),
    webhook=Webhook(scheme="github_hmac_sha256", parse=parse_webhook, touches=webhook_touches),
)
