"""Loaders over the identity upstream."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from aiodataloader import DataLoader

from clients.errors import UpstreamError
from clients.identity import IdentityClient, IdentityOrg, IdentityUser, MembersPage
from resolvers.loaders.batching import fan_out, load_by_keys


class UserByIdLoader(DataLoader[str, IdentityUser | None]):
    def __init__(self, client: IdentityClient) -> None:
        super().__init__(max_batch_size=client.rest.http.policy.max_batch_size)
        self.client = client

    async def batch_load_fn(self, keys: Sequence[str]) -> list[IdentityUser | UpstreamError | None]:  # type: ignore[override]  # the stub omits per-key exceptions
        return await load_by_keys(keys, self.client.users_by_ids)


class OrgByIdLoader(DataLoader[str, IdentityOrg | None]):
    def __init__(self, client: IdentityClient) -> None:
        super().__init__(max_batch_size=client.rest.http.policy.max_batch_size)
        self.client = client

    async def batch_load_fn(self, keys: Sequence[str]) -> list[IdentityOrg | UpstreamError | None]:  # type: ignore[override]  # the stub omits per-key exceptions
        return await load_by_keys(keys, self.client.orgs_by_ids)


@dataclass(frozen=True, slots=True)
class MembersKey:
    org_id: str
    first: int
    after: str | None = None


class MembersByOrgLoader(DataLoader[MembersKey, MembersPage | None]):
    """A page of an organization's members; its users prime ``UserByIdLoader``."""

    def __init__(self, client: IdentityClient, users: UserByIdLoader) -> None:
        super().__init__()
        self.client = client
        self.users = users

    async def batch_load_fn(self, keys: Sequence[MembersKey]) -> list[MembersPage | UpstreamError | None]:  # type: ignore[override]  # the stub omits per-key exceptions
        pages = await fan_out(keys, self._page, limit=self.client.rest.http.policy.max_fanout)
        for page in pages:
            if isinstance(page, MembersPage):
                for user in page.data:
                    self.users.prime(user.id, user)
        return list(pages)

    async def _page(self, key: MembersKey) -> MembersPage | None:
        return await self.client.members(key.org_id, limit=key.first, cursor=key.after)
