"""Loaders over the identity upstream."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from aiodataloader import DataLoader
from pydantic import TypeAdapter

from clients.errors import UpstreamError
from clients.identity import IdentityClient, IdentityOrg, IdentityUser, MembersPage
from resolvers.cache import CacheType, RequestCache
from resolvers.cache.types import key_part
from resolvers.loaders.batching import cached, fan_out, load_by_keys


@dataclass(frozen=True, slots=True)
class MembersKey:
    org_id: str
    first: int
    after: str | None = None


USERS: CacheType[str, IdentityUser] = CacheType(
    name="users",
    upstream="identity",
    adapter=TypeAdapter(IdentityUser),
    key_id=key_part,
    entity="User",
    tags=lambda _key, user: (f"org:{user.org_id}",),
)
ORGS: CacheType[str, IdentityOrg] = CacheType(
    name="orgs",
    upstream="identity",
    adapter=TypeAdapter(IdentityOrg),
    key_id=key_part,
    entity="Organization",
    tags=lambda key, _org: (f"org:{key}",),
)
MEMBERS: CacheType[MembersKey, MembersPage] = CacheType(
    name="members",
    upstream="identity",
    adapter=TypeAdapter(MembersPage),
    key_id=lambda key: f"{key_part(key.org_id)}:{key.first}:{key_part(key.after)}",
    tags=lambda key, page: (f"org:{key.org_id}", *(f"User:{user.id}" for user in page.data)),
)


class UserByIdLoader(DataLoader[str, IdentityUser | None]):
    def __init__(self, client: IdentityClient, cache: RequestCache | None = None) -> None:
        super().__init__(max_batch_size=client.rest.http.policy.max_batch_size)
        self.client = client
        self.shared_cache = cache

    async def batch_load_fn(self, keys: Sequence[str]) -> list[IdentityUser | UpstreamError | None]:  # type: ignore[override]  # the stub omits per-key exceptions
        return await cached(self.shared_cache, USERS, keys, self._fetch)

    async def _fetch(self, keys: Sequence[str]) -> list[IdentityUser | UpstreamError | None]:
        return await load_by_keys(keys, self.client.users_by_ids)


class OrgByIdLoader(DataLoader[str, IdentityOrg | None]):
    def __init__(self, client: IdentityClient, cache: RequestCache | None = None) -> None:
        super().__init__(max_batch_size=client.rest.http.policy.max_batch_size)
        self.client = client
        self.shared_cache = cache

    async def batch_load_fn(self, keys: Sequence[str]) -> list[IdentityOrg | UpstreamError | None]:  # type: ignore[override]  # the stub omits per-key exceptions
        return await cached(self.shared_cache, ORGS, keys, self._fetch)

    async def _fetch(self, keys: Sequence[str]) -> list[IdentityOrg | UpstreamError | None]:
        return await load_by_keys(keys, self.client.orgs_by_ids)


class MembersByOrgLoader(DataLoader[MembersKey, MembersPage | None]):
    """A page of an organization's members; its users prime ``UserByIdLoader``. A page fetched
    upstream also refreshes its users' cache entries, so pages and users agree."""

    def __init__(self, client: IdentityClient, users: UserByIdLoader, cache: RequestCache | None = None) -> None:
        super().__init__()
        self.client = client
        self.users = users
        self.shared_cache = cache

    async def batch_load_fn(self, keys: Sequence[MembersKey]) -> list[MembersPage | UpstreamError | None]:  # type: ignore[override]  # the stub omits per-key exceptions
        pages = await cached(self.shared_cache, MEMBERS, keys, self._fetch)
        for page in pages:
            if isinstance(page, MembersPage):
                for user in page.data:
                    self.users.prime(user.id, user)
        return pages

    async def _fetch(self, keys: Sequence[MembersKey]) -> list[MembersPage | UpstreamError | None]:
        pages = await fan_out(keys, self._page, limit=self.client.rest.http.policy.max_fanout)
        if self.shared_cache is not None:
            users = [(user.id, user) for page in pages if isinstance(page, MembersPage) for user in page.data]
            await self.shared_cache.put(USERS, users)
        return pages

    async def _page(self, key: MembersKey) -> MembersPage | None:
        return await self.client.members(key.org_id, limit=key.first, cursor=key.after)
