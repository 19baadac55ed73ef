"""identity: users and organizations (REST, OAuth2 client credentials).

This module declares the upstream (its reads, vendor and webhook); ``clients.identity_client``
makes its calls, ``clients.identity_values`` holds its types (importable from here too)."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Literal

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
from clients.identity_client import IdentityClient
from clients.identity_values import IdentityOrg, IdentityUser, MembersKey, MembersPage
from clients.rest import RestClient
from clients.webhooks import Ident, Payload, Timestamp, Version, read_body

__all__ = [
    "IDENTITY",
    "IDENTITY_API",
    "MEMBERS",
    "ORGS",
    "USERS",
    "IdentityClient",
    "IdentityOrg",
    "IdentityUser",
    "IdentityWebhook",
    "MembersKey",
    "MembersPage",
    "UserChange",
    "parse_webhook",
    "webhook_touches",
]


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
