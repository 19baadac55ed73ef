"""identity's payloads: users, organizations, members pages and their keys.

They hold only scalars (a page, its users), so the leaf types are ``gc=False`` msgspec Structs
(see ``clients.projects_values``)."""

from __future__ import annotations

from datetime import datetime

import msgspec


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


class UserList(msgspec.Struct, frozen=True):
    data: list[IdentityUser]


class OrgList(msgspec.Struct, frozen=True):
    data: list[IdentityOrg]


class MembersPage(msgspec.Struct, frozen=True):
    data: list[IdentityUser]
    total_count: int
    next_cursor: str | None = None


class MembersKey(msgspec.Struct, frozen=True, gc=False, cache_hash=True):
    org_id: str
    first: int
    after: str | None = None
